/** One step into a resource: an object key or an array index. */
export type Segment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Formats a field path the way Istio and kubectl print it: `spec.rules[0].from[0].source.ipBlocks[1]`.
 * Map keys that are not identifiers (label keys, header names, port numbers) are quoted in brackets:
 * `metadata.labels["app.kubernetes.io/name"]`, `spec.portLevelMtls["8080"]`.
 */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/**
 * Turns an ajv instance path (a JSON pointer, `/spec/rules/0`) into segments, using the data to tell
 * array indexes from object keys that happen to be digits (`portLevelMtls` keys).
 */
export function pointerToSegments(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      const index = Number(key);
      out.push(index);
      node = node[index];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

/** The value at `segments` inside `data`, or undefined when the path does not exist. */
export function valueAt(data: unknown, segments: readonly Segment[]): unknown {
  let node = data;
  for (const s of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[s];
  }
  return node;
}
