// The one ajv instance that compiles every kind's JSON Schema, with weft's keywords:
//   check: '<name>'            a named value check (checks/index.ts): CIDR, principal, regex...
//   exclusive: [[a, [b, c]]]   per constraint, at most one of these fields (or field groups) may be set
//   atLeastOne: [a, b]         at least one of these fields must be set
//   uniqueBy: 'name'           list items must differ in this field
//   serverSet: true            annotation: a metadata field the server sets; accepted, then dropped
import { Ajv, type ErrorObject, type SchemaObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import { CHECK_NAMES, runCheck, type CheckName } from './checks/index.js';
import type { IssueCode } from './errors.js';

/** Params of errors raised by weft's keywords: the issue code, and a path below the reported node. */
export interface WeftErrorParams {
  readonly code: IssueCode;
  readonly at?: readonly (string | number)[];
  readonly target?: 'key' | 'value';
}

function weftError(keyword: string, message: string, params: WeftErrorParams): Partial<ErrorObject> {
  return { keyword, message, params: params as unknown as Record<string, unknown> };
}

const check: SchemaValidateFunction = function (name: CheckName, data: unknown): boolean {
  const failure = runCheck(name, data);
  check.errors = failure === undefined ? [] : [weftError('check', failure.message, { code: failure.code })];
  return failure === undefined;
};

const isSet = (obj: Record<string, unknown>, field: string) => obj[field] !== undefined;

const exclusive: SchemaValidateFunction = function (constraints: (string | string[])[][], data: unknown): boolean {
  exclusive.errors = [];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return true;
  const obj = data as Record<string, unknown>;
  const order = Object.keys(obj);
  const byPosition = (a: string, b: string) => order.indexOf(a) - order.indexOf(b);
  for (const groups of constraints) {
    const present = groups
      .map((g) => (typeof g === 'string' ? [g] : g).filter((f) => isSet(obj, f)))
      .filter((fields) => fields.length > 0)
      .map((fields) => fields.sort(byPosition)[0]!)
      .sort(byPosition);
    for (const later of present.slice(1)) {
      const message = `${JSON.stringify(present[0])} and ${JSON.stringify(later)} cannot both be set`;
      exclusive.errors.push(weftError('exclusive', message, { code: 'WEFT_CONFIG_EXCLUSIVE_FIELDS', at: [later], target: 'key' }));
    }
  }
  return exclusive.errors.length === 0;
};

const atLeastOne: SchemaValidateFunction = function (fields: string[], data: unknown): boolean {
  atLeastOne.errors = [];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return true;
  if (fields.some((f) => isSet(data as Record<string, unknown>, f))) return true;
  const names = fields.map((f) => JSON.stringify(f)).join(', ');
  atLeastOne.errors.push(weftError('atLeastOne', `must set one of ${names}`, { code: 'WEFT_CONFIG_REQUIRED_FIELD' }));
  return false;
};

const uniqueBy: SchemaValidateFunction = function (field: string, data: unknown): boolean {
  uniqueBy.errors = [];
  if (!Array.isArray(data)) return true;
  const seen = new Map<string, number>();
  data.forEach((item, i) => {
    if (item === null || typeof item !== 'object') return;
    const value = (item as Record<string, unknown>)[field];
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const k = `${typeof value}:${value}`;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else {
      const message = `duplicate ${field} ${JSON.stringify(value)}: already used by item [${first}]`;
      uniqueBy.errors?.push(weftError('uniqueBy', message, { code: 'WEFT_CONFIG_DUPLICATE_ENTRY', at: [i, field] }));
    }
  });
  return uniqueBy.errors.length === 0;
};

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, ownProperties: true, useDefaults: true });
  ajv.addKeyword({ keyword: 'check', schemaType: 'string', metaSchema: { enum: CHECK_NAMES }, errors: true, validate: check });
  ajv.addKeyword({
    keyword: 'exclusive',
    schemaType: 'array',
    metaSchema: { type: 'array', items: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } } },
    errors: true,
    validate: exclusive,
  });
  ajv.addKeyword({ keyword: 'atLeastOne', schemaType: 'array', metaSchema: { type: 'array', items: { type: 'string' } }, errors: true, validate: atLeastOne });
  ajv.addKeyword({ keyword: 'uniqueBy', schemaType: 'string', errors: true, validate: uniqueBy });
  ajv.addKeyword({ keyword: 'serverSet', schemaType: 'boolean' });
  return ajv;
}

let shared: Ajv | undefined;
const compiled = new WeakMap<SchemaObject, ValidateFunction>();

/** The compiled validator of `schema`, compiled once on first use. */
export function validatorFor(schema: SchemaObject): ValidateFunction {
  let fn = compiled.get(schema);
  if (fn === undefined) {
    shared ??= createAjv();
    fn = shared.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}
