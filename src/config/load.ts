// Reads multi-document YAML (YAML 1.2, which includes JSON) into plain objects while keeping, for
// every value, the line and column it came from, so each issue can point at its node.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import type { IssueCode } from './errors.js';
import type { Issue } from './issue.js';
import { formatPath, type Segment } from './path.js';

/** A 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Whether to point at a map entry's key (an unknown field) or at its value (a bad value). */
export type Target = 'key' | 'value';

/** One resource found in the text: a YAML/JSON document, or one item of a `kind: List`. */
export interface LoadedDocument {
  /** The resource as plain data (aliases and merge keys resolved). */
  readonly data: unknown;
  /** Position of the document's start. */
  readonly start: Position;
  /** Where the node at `segments` (relative to this resource) is, or its nearest existing ancestor. */
  locate(segments: readonly Segment[], target?: Target): Position;
}

/** What `loadDocuments` found: the resources, and issues with the text itself. */
export interface Loaded {
  readonly documents: LoadedDocument[];
  readonly issues: Issue[];
}

/** Aliases beyond this many are refused ("billion laughs"); real resources use none or a few. */
const MAX_ALIAS_COUNT = 100;
const LIST_FIELDS = new Set(['apiVersion', 'kind', 'items', 'metadata']);

/**
 * Splits `text` into resources. Accepts any number of YAML documents separated by `---`, a JSON
 * object, or a `kind: List` (YAML or JSON) whose `items` are resources. Empty documents are skipped.
 * Never throws: problems with the text are returned as issues.
 */
export function loadDocuments(text: string, file: string): Loaded {
  const lineCounter = new LineCounter();
  const documents: LoadedDocument[] = [];
  const issues: Issue[] = [];
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { line: p.line, column: p.col };
  };
  let parsed: Document.Parsed[];
  try {
    parsed = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: true, uniqueKeys: true, logLevel: 'silent' }) as Document.Parsed[];
  } catch (err) {
    issues.push({ file, line: 1, column: 1, path: '', message: `cannot parse: ${describe(err)}`, code: 'WEFT_CONFIG_SYNTAX' });
    return { documents, issues };
  }
  if (!Array.isArray(parsed)) parsed = [parsed];
  for (const doc of parsed) {
    const problems = [...doc.errors, ...doc.warnings];
    for (const e of problems) {
      const pos = at(e.pos[0]);
      issues.push({ file, ...pos, path: '', message: yamlMessage(e.message), code: 'WEFT_CONFIG_SYNTAX' });
    }
    if (problems.length > 0 || doc.contents === null) continue;
    const badKeys = nonScalarKeys(doc);
    for (const offset of badKeys) {
      issues.push({ file, ...at(offset), path: '', message: 'a map key must be a string or number (not null, a mapping, a list or an alias)', code: 'WEFT_CONFIG_SYNTAX' });
    }
    if (badKeys.length > 0) continue;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const pos = at(doc.contents.range?.[0] ?? 0);
      issues.push({ file, ...pos, path: '', message: `cannot read document: ${describe(err)}`, code: 'WEFT_CONFIG_SYNTAX' });
      continue;
    }
    if (data === null || data === undefined) continue;
    const root = doc.contents as Node;
    const locator = (base: readonly Segment[]) => (segments: readonly Segment[], target: Target = 'value') =>
      at(offsetOf(doc, root, [...base, ...segments], target));
    if (isList(data)) {
      issues.push(...listIssues(data, file, locator([])));
      const items = data.items;
      if (!Array.isArray(items)) continue;
      items.forEach((item, i) => {
        const locate = locator(['items', i]);
        documents.push({ data: item, start: locate([]), locate });
      });
      continue;
    }
    const locate = locator([]);
    documents.push({ data, start: locate([]), locate });
  }
  return { documents, issues };
}

/** Offsets of map keys that are collections, aliases or missing: JSON has no such keys. */
function nonScalarKeys(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value === null) offsets.push(rangeStart(pair.key as Node | null) ?? rangeStart(pair.value as Node | null) ?? 0);
    },
  });
  return offsets;
}

function isList(data: unknown): data is Record<string, unknown> {
  return data !== null && typeof data === 'object' && !Array.isArray(data) && (data as Record<string, unknown>).kind === 'List';
}

function listIssues(list: Record<string, unknown>, file: string, locate: LoadedDocument['locate']): Issue[] {
  const issues: Issue[] = [];
  const push = (segments: Segment[], message: string, code: IssueCode, target: Target = 'value') =>
    issues.push({ file, ...locate(segments, target), path: formatPath(segments), message, code });
  if (list.apiVersion !== 'v1') push(['apiVersion'], `a List must have apiVersion "v1", got ${JSON.stringify(list.apiVersion ?? null)}`, 'WEFT_CONFIG_UNKNOWN_KIND');
  if (!Array.isArray(list.items)) push(['items'], 'a List must have "items": a list of resources', 'WEFT_CONFIG_WRONG_TYPE');
  for (const key of Object.keys(list)) {
    if (!LIST_FIELDS.has(key)) push([key], `unknown field ${JSON.stringify(key)} in a List`, 'WEFT_CONFIG_UNKNOWN_FIELD', 'key');
  }
  return issues;
}

/** The offset of the node at `segments`, following aliases; the deepest existing ancestor if the path ends early. */
function offsetOf(doc: Document.Parsed, root: Node, segments: readonly Segment[], target: Target): number {
  let node: unknown = root;
  let offset = rangeStart(root) ?? 0;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    node = resolveAlias(doc, node);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(s));
      if (pair === undefined) return offset;
      if (last && target === 'key') return rangeStart(pair.key as Node) ?? offset;
      node = pair.value;
      if (node === null) return rangeStart(pair.key as Node) ?? offset;
    } else if (isSeq(node) && typeof s === 'number') {
      node = node.items[s];
      if (node === undefined) return offset;
    } else {
      return offset;
    }
    offset = rangeStart(node as Node) ?? offset;
  }
  return offset;
}

function resolveAlias(doc: Document.Parsed, node: unknown): unknown {
  let current = node;
  for (let hops = 0; isAlias(current) && hops < MAX_ALIAS_COUNT; hops++) current = current.resolve(doc);
  return current;
}

function rangeStart(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').trim();
  return first.charAt(0).toLowerCase() + first.slice(1);
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return yamlMessage(text);
}
