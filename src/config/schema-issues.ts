// Turns ajv's errors into issues: Istio's field path, the node's line and column, a sentence a
// person can act on, and a stable code.
import type { ErrorObject } from 'ajv';
import type { WeftErrorParams } from './ajv.js';
import type { IssueCode } from './errors.js';
import type { Target } from './load.js';
import { pointerToSegments, type Segment } from './path.js';
import { suggest } from './suggest.js';

/** An issue before its file and position are filled in. */
export interface PathIssue {
  readonly segments: readonly Segment[];
  readonly target: Target;
  readonly message: string;
  readonly code: IssueCode;
}

/** Fields that are known mistakes, with what to do instead. */
const POINTED: Readonly<Record<string, string>> = {
  status: 'is written by the control plane, never applied: remove it',
};

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

/** The JSON type of a value, in the words messages use. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a decimal number';
  return TYPE_NAMES[typeof value] ?? typeof value;
}

function expectedType(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join(' or ');
}

function propertyNames(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props === undefined ? [] : Object.keys(props);
}

/** Maps each ajv error on `data` to an issue; errors that only wrap others are dropped. */
export function schemaIssues(errors: readonly ErrorObject[], data: unknown): PathIssue[] {
  const out: PathIssue[] = [];
  for (const e of errors) {
    const issue = toIssue(e, data);
    if (issue !== undefined) out.push(issue);
  }
  return out;
}

function toIssue(e: ErrorObject, data: unknown): PathIssue | undefined {
  const base = pointerToSegments(e.instancePath, data);
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'propertyNames' || e.keyword === 'if') return undefined;
  if (e.schemaPath.includes('/propertyNames/')) {
    // A map key that fails its check: ajv reports it on the map, with the key as data.
    const key = String(e.data);
    const inner = mapKeyword(e, [...base, key], p);
    return { ...inner, segments: [...base, key], target: 'key' };
  }
  return mapKeyword(e, base, p);
}

function mapKeyword(e: ErrorObject, base: Segment[], p: Record<string, unknown>): PathIssue {
  const issue = (message: string, code: IssueCode, segments: Segment[] = base, target: Target = 'value'): PathIssue => ({
    segments,
    target,
    message,
    code,
  });
  switch (e.keyword) {
    case 'type':
      return issue(`must be ${expectedType(p.type)}, got ${describeType(e.data)}`, 'WEFT_CONFIG_WRONG_TYPE');
    case 'required':
      return issue(`missing required field ${JSON.stringify(p.missingProperty)}`, 'WEFT_CONFIG_REQUIRED_FIELD', [...base, String(p.missingProperty)]);
    case 'additionalProperties': {
      const field = String(p.additionalProperty);
      const pointed = POINTED[field];
      if (pointed !== undefined && base.length === 0) return issue(`${JSON.stringify(field)} ${pointed}`, 'WEFT_CONFIG_UNKNOWN_FIELD', [field], 'key');
      const hint = suggest(field, propertyNames(e.parentSchema));
      const message = `unknown field ${JSON.stringify(field)}${hint === undefined ? '' : `; did you mean ${JSON.stringify(hint)}?`}`;
      return issue(message, 'WEFT_CONFIG_UNKNOWN_FIELD', [...base, field], 'key');
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const hint = typeof e.data === 'string' ? suggest(e.data, allowed) : undefined;
      const got = typeof e.data === 'string' ? JSON.stringify(e.data) : describeType(e.data);
      const tail = hint === undefined ? '' : `; did you mean ${JSON.stringify(hint)}?`;
      return issue(`must be one of ${allowed.join(', ')}; got ${got}${tail}`, 'WEFT_CONFIG_BAD_ENUM');
    }
    case 'const':
      return issue(`must be ${JSON.stringify(p.allowedValue)}`, 'WEFT_CONFIG_INVALID_VALUE');
    case 'minLength':
      return issue(p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters`, 'WEFT_CONFIG_OUT_OF_RANGE');
    case 'maxLength':
      return issue(`must be at most ${p.limit} characters`, 'WEFT_CONFIG_OUT_OF_RANGE');
    case 'minItems':
      return issue(p.limit === 1 ? 'must not be an empty list' : `must have at least ${p.limit} items`, 'WEFT_CONFIG_OUT_OF_RANGE');
    case 'maxItems':
      return issue(`must have at most ${p.limit} items`, 'WEFT_CONFIG_OUT_OF_RANGE');
    case 'minProperties':
      return issue(p.limit === 1 ? 'must not be empty: set at least one field' : `must have at least ${p.limit} entries`, 'WEFT_CONFIG_OUT_OF_RANGE');
    case 'maxProperties':
      return issue(`must have at most ${p.limit} entries`, 'WEFT_CONFIG_OUT_OF_RANGE');
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return issue(`must be ${String(p.comparison)} ${String(p.limit)}, got ${String(e.data)}`, 'WEFT_CONFIG_OUT_OF_RANGE');
    case 'pattern':
      return issue(`invalid value ${JSON.stringify(e.data)}: must match ${String(p.pattern)}`, 'WEFT_CONFIG_INVALID_VALUE');
    case 'check':
    case 'exclusive':
    case 'atLeastOne':
    case 'uniqueBy': {
      const w = p as unknown as WeftErrorParams;
      return issue(e.message ?? 'invalid value', w.code, [...base, ...(w.at ?? [])], w.target ?? 'value');
    }
    default:
      return issue(e.message ?? 'invalid value', 'WEFT_CONFIG_INVALID_VALUE');
  }
}
