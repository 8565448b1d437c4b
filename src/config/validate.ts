// Validates resource text as Kubernetes admission would: every document against its kind's JSON
// Schema, then its kind's cross-field checks, then duplicates across documents. Every issue is
// collected; one bad document fails the whole input, so a caller applies all of it or nothing.
import { validatorFor } from './ajv.js';
import { deepFreeze } from './freeze.js';
import type { Resource } from './generated/types.js';
import { sortIssues, type Issue, type ValidationResult } from './issue.js';
import { loadDocuments, type LoadedDocument, type Position } from './load.js';
import { formatPath } from './path.js';
import { DEFAULT_NAMESPACE, key } from './resources.js';
import { schemaIssues, type PathIssue } from './schema-issues.js';
import { COMMON_DEFS } from './schemas/common.js';
import { KIND_DEFINITIONS, kindDefinition } from './schemas/index.js';
import type { KindDefinition } from './schemas/kind.js';
import { suggest } from './suggest.js';

/** ObjectMeta fields the server sets: accepted (so `get -o yaml` output re-applies) and dropped. */
const SERVER_SET_METADATA: readonly string[] = Object.entries(
  (COMMON_DEFS.ObjectMeta as { properties: Record<string, { serverSet?: boolean }> }).properties,
)
  .filter(([, s]) => s.serverSet === true)
  .map(([name]) => name);

const KNOWN_KINDS = KIND_DEFINITIONS.map((d) => d.kind);

/**
 * Parses and validates multi-document YAML or JSON (a JSON object, or a `kind: List`) into
 * deep-frozen resources. Never throws: any problem, including one with the text itself, is an
 * issue with its file, line, column and field path. If any document has an issue, the result is
 * `ok: false` with the issues of every document.
 *
 * @example
 * const result = parseResources(text, 'policies.yaml');
 * if (!result.ok) for (const issue of result.issues) print(formatIssue(issue));
 */
export function parseResources(text: string, file: string, opts: ParseOptions = {}): ValidationResult<Resource[]> {
  try {
    return parse(text, file, opts);
  } catch (err) {
    const message = `internal error while validating: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, issues: [{ file, line: 1, column: 1, path: '', message, code: 'WEFT_CONFIG_INVALID_VALUE' }] };
  }
}

/** Options of `parseResources`. */
export interface ParseOptions {
  /**
   * Receives the server-set metadata (resourceVersion, creationTimestamp, generation, ...) a
   * document carried, before it is dropped from the resource: an update that names the version it
   * was read at, or a stored resource read back, keeps that knowledge without the resource type
   * admitting it.
   */
  readonly onServerMetadata?: (key: string, metadata: Readonly<Record<string, unknown>>) => void;
}

function parse(text: string, file: string, opts: ParseOptions): ValidationResult<Resource[]> {
  if (typeof text !== 'string') throw new TypeError('"text" must be a string');
  const loaded = loadDocuments(text, file);
  const issues: Issue[] = [...loaded.issues];
  const resources: Resource[] = [];
  const firstSeen = new Map<string, Position>();
  for (const doc of loaded.documents) {
    const result = validateDocument(doc, opts);
    const toIssue = (p: PathIssue): Issue => ({ file, ...doc.locate(p.segments, p.target), path: formatPath(p.segments), message: p.message, code: p.code });
    issues.push(...result.issues.map(toIssue));
    if (result.key !== undefined) {
      const first = firstSeen.get(result.key);
      if (first === undefined) firstSeen.set(result.key, doc.locate(['metadata', 'name']));
      else {
        const message = `duplicate resource ${result.key}: first defined at ${file}:${first.line}:${first.column}`;
        issues.push(toIssue({ segments: ['metadata', 'name'], target: 'value', message, code: 'WEFT_CONFIG_DUPLICATE_RESOURCE' }));
      }
    }
    if (result.resource !== undefined) resources.push(result.resource);
  }
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };
  return { ok: true, value: resources };
}

interface DocumentResult {
  readonly issues: PathIssue[];
  /** The resource's key, when kind, namespace and name can be read (even if other fields are bad). */
  readonly key?: string;
  /** The validated resource, when the document has no issue. */
  readonly resource?: Resource;
}

function validateDocument(doc: LoadedDocument, opts: ParseOptions): DocumentResult {
  const data = doc.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const got = Array.isArray(data) ? 'a list' : typeof data === 'string' ? 'a string' : `a ${typeof data}`;
    return { issues: [issue([], 'WEFT_CONFIG_WRONG_TYPE', `a resource must be a mapping with apiVersion, kind, metadata and spec; got ${got}`)] };
  }
  const obj = data as Record<string, unknown>;
  const head = kindOf(obj);
  if ('issues' in head) return head;
  const def = head.def;
  prepare(obj, def);
  const validate = validatorFor(def.schema);
  const issues: PathIssue[] = head.apiVersionIssue === undefined ? [] : [head.apiVersionIssue];
  if (!validate(obj)) {
    const found = schemaIssues(validate.errors ?? [], obj);
    issues.push(...found.filter((i) => !(i.segments.length === 1 && (i.segments[0] === 'apiVersion' || i.segments[0] === 'kind'))));
  }
  for (const check of def.crossChecks) {
    try {
      issues.push(...check(obj));
    } catch {
      // Malformed data the schema already reported; the check has nothing sound to add.
    }
  }
  const k = resourceKey(obj);
  if (issues.length > 0) return { issues, key: k };
  if (opts.onServerMetadata !== undefined && k !== undefined) opts.onServerMetadata(k, serverSetMetadata(obj));
  dropServerSetMetadata(obj);
  return { issues, key: k, resource: deepFreeze(obj) as unknown as Resource };
}

function kindOf(obj: Record<string, unknown>): { def: KindDefinition; apiVersionIssue?: PathIssue } | { issues: PathIssue[] } {
  const kind = obj.kind;
  if (kind === undefined) return { issues: [issue(['kind'], 'WEFT_CONFIG_REQUIRED_FIELD', 'missing required field "kind"')] };
  if (typeof kind !== 'string') return { issues: [issue(['kind'], 'WEFT_CONFIG_WRONG_TYPE', 'must be a string')] };
  const def = kindDefinition(kind);
  if (def === undefined) {
    const hint = suggest(kind, KNOWN_KINDS);
    const tail = hint === undefined ? ` (weft accepts ${KNOWN_KINDS.join(', ')})` : `; did you mean ${JSON.stringify(hint)}?`;
    return { issues: [issue(['kind'], 'WEFT_CONFIG_UNKNOWN_KIND', `unknown kind ${JSON.stringify(kind)}${tail}`)] };
  }
  const served = def.versions.map((v) => `${def.group}/${v}`);
  const apiVersion = obj.apiVersion;
  if (apiVersion === undefined) return { def, apiVersionIssue: issue(['apiVersion'], 'WEFT_CONFIG_REQUIRED_FIELD', 'missing required field "apiVersion"') };
  if (typeof apiVersion !== 'string' || !served.includes(apiVersion)) {
    const got = typeof apiVersion === 'string' ? JSON.stringify(apiVersion) : 'a non-string';
    return { def, apiVersionIssue: issue(['apiVersion'], 'WEFT_CONFIG_UNKNOWN_KIND', `${kind} is served at ${served.join(', ')}; got ${got}`) };
  }
  return { def };
}

/** Defaults Kubernetes applies before validation: an absent spec is empty, an absent namespace is "default". */
function prepare(obj: Record<string, unknown>, def: KindDefinition): void {
  if (obj.spec === undefined) obj.spec = {};
  const meta = obj.metadata;
  if (def.namespaced && meta !== null && typeof meta === 'object' && !Array.isArray(meta)) {
    const m = meta as Record<string, unknown>;
    if (m.namespace === undefined) m.namespace = DEFAULT_NAMESPACE;
  }
}

function serverSetMetadata(obj: Record<string, unknown>): Record<string, unknown> {
  const meta = obj.metadata as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of SERVER_SET_METADATA) if (meta[field] !== undefined && meta[field] !== null) out[field] = meta[field];
  return out;
}

function dropServerSetMetadata(obj: Record<string, unknown>): void {
  const meta = obj.metadata as Record<string, unknown>;
  for (const field of SERVER_SET_METADATA) delete meta[field];
}

function resourceKey(obj: Record<string, unknown>): string | undefined {
  const meta = obj.metadata as Record<string, unknown> | undefined;
  if (typeof obj.kind !== 'string' || meta === null || typeof meta !== 'object' || typeof meta.name !== 'string') return undefined;
  const ns = meta.namespace;
  if (ns !== undefined && typeof ns !== 'string') return undefined;
  return key({ kind: obj.kind, metadata: { name: meta.name, ...(ns === undefined ? {} : { namespace: ns }) } } as Resource);
}

function issue(segments: PathIssue['segments'], code: PathIssue['code'], message: string): PathIssue {
  return { segments, target: 'value', code, message };
}
