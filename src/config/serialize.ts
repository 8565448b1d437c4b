// The canonical text of resources: YAML documents with keys in alphabetical order (the order
// `kubectl get -o yaml` prints), no anchors, no folding, so equal resources give equal text and
// the text parses back to equal resources.
import { stringify } from 'yaml';
import type { Resource } from './generated/types.js';

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sorted((value as Record<string, unknown>)[k]);
  return out;
}

/**
 * Serializes resources as multi-document YAML in canonical form. `parseResources(toYaml(rs))`
 * gives resources equal to `rs`.
 */
export function toYaml(resources: readonly Resource[]): string {
  return resources
    .map((r) => stringify(sorted(r), { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false, version: '1.2' }))
    .join('---\n');
}
