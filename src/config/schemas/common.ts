// Builders for the JSON Schemas of every kind, and the definitions the kinds share (Kubernetes
// ObjectMeta, Istio's WorkloadSelector and PolicyTargetReference). Each builder returns plain
// JSON Schema plus weft's keywords (see ../ajv.ts), so the schemas stay data the type generator
// and any JSON Schema tool can read.
import type { CheckName } from '../checks/index.js';

/** A JSON Schema (draft-07 vocabulary plus weft's keywords). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A string, optionally passing a named check. */
export function str(check?: CheckName, extra: JsonSchema = {}): JsonSchema {
  return { type: 'string', ...(check === undefined ? {} : { check }), ...extra };
}

/** A non-empty string, optionally passing a named check. */
export function text(check?: CheckName): JsonSchema {
  return str(check, { minLength: 1 });
}

export const bool: JsonSchema = { type: 'boolean' };
export const int32: JsonSchema = { type: 'integer', minimum: -2147483648, maximum: 2147483647 };
export const uint32: JsonSchema = { type: 'integer', minimum: 0, maximum: 4294967295 };
export const uint64: JsonSchema = { type: 'integer', minimum: 0 };
export const port: JsonSchema = { type: 'integer', check: 'port' };
export const duration: JsonSchema = { type: 'string', check: 'duration' };
export const percent: JsonSchema = { type: 'number', minimum: 0, maximum: 100 };

/** A number in [min, max]. */
export function num(min?: number, max?: number): JsonSchema {
  return { type: 'number', ...(min === undefined ? {} : { minimum: min }), ...(max === undefined ? {} : { maximum: max }) };
}

/** An integer in [min, max]. */
export function int(min: number, max: number): JsonSchema {
  return { type: 'integer', minimum: min, maximum: max };
}

/** A list of `items`. */
export function list(items: JsonSchema, extra: JsonSchema = {}): JsonSchema {
  return { type: 'array', items, ...extra };
}

/** A non-empty list of values each passing `check` (an empty list in a policy is a likely mistake). */
export function values(check?: CheckName, extra: JsonSchema = {}): JsonSchema {
  return list(check === undefined ? text() : str(check), { minItems: 1, ...extra });
}

/** A map from keys (each passing `keyCheck`) to `values`. */
export function map(valueSchema: JsonSchema, keyCheck?: CheckName, extra: JsonSchema = {}): JsonSchema {
  return { type: 'object', additionalProperties: valueSchema, ...(keyCheck === undefined ? {} : { propertyNames: { check: keyCheck } }), ...extra };
}

/** A message with exactly these fields (unknown fields are refused). */
export function obj(properties: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema {
  return { type: 'object', properties, additionalProperties: false, ...extra };
}

/** A string from a fixed set (a protobuf enum). */
export function enumOf(...allowed: string[]): JsonSchema {
  return { type: 'string', enum: allowed };
}

/** A reference to a definition in the kind's `$defs`. */
export function ref(name: string): JsonSchema {
  return { $ref: `#/$defs/${name}` };
}

/** Kubernetes labels: qualified-name keys, label-syntax values. */
export const labels: JsonSchema = map(str('labelValue'), 'labelKey');

/** Kubernetes ObjectMeta as a client may send it. `serverSet` fields are accepted, then dropped. */
const ObjectMeta = obj(
  {
    name: str('name'),
    namespace: str('namespace'),
    labels,
    annotations: map(str(), 'annotationKey'),
    generateName: str(),
    finalizers: list(text()),
    ownerReferences: list(
      obj(
        { apiVersion: text(), kind: text(), name: text(), uid: text(), controller: bool, blockOwnerDeletion: bool },
        { required: ['apiVersion', 'kind', 'name', 'uid'] },
      ),
    ),
    uid: str(undefined, { serverSet: true }),
    resourceVersion: str(undefined, { serverSet: true }),
    generation: { type: 'integer', serverSet: true },
    creationTimestamp: { type: ['string', 'null'], serverSet: true },
    deletionTimestamp: { type: ['string', 'null'], serverSet: true },
    deletionGracePeriodSeconds: { type: 'integer', serverSet: true },
    selfLink: str(undefined, { serverSet: true }),
    managedFields: list({ type: 'object' }, { serverSet: true }),
  },
  { required: ['name'] },
);

/** Istio's WorkloadSelector (istio.type.v1beta1): labels with no wildcards. */
const WorkloadSelector = obj({ matchLabels: map(str('labelValue'), 'labelKey', { maxProperties: 4096 }) });

/** Istio's PolicyTargetReference: a Gateway, GatewayClass, Service or ServiceEntry in the same namespace. */
const PolicyTargetReference = obj(
  {
    group: str(undefined, { maxLength: 253, pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' }),
    kind: str(undefined, { minLength: 1, maxLength: 63, pattern: '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$' }),
    name: str(undefined, { minLength: 1, maxLength: 253 }),
    namespace: str('localNamespace'),
  },
  { required: ['kind', 'name'] },
);

/** Definitions every kind's schema carries. */
export const COMMON_DEFS: Record<string, JsonSchema> = { ObjectMeta, WorkloadSelector, PolicyTargetReference };

/** What a kind's module declares: its API group, versions, scope and spec schema. */
export interface KindSchemaInput {
  readonly kind: string;
  readonly group: string;
  readonly versions: readonly string[];
  readonly defs: Record<string, JsonSchema>;
}

/**
 * The complete JSON Schema of one kind: `apiVersion`, `kind`, `metadata`, `spec` (the definition
 * named `<Kind>Spec`), with every definition it needs under `$defs`.
 */
export function kindSchema(input: KindSchemaInput): JsonSchema {
  return {
    $id: `https://weft.dev/schemas/${input.kind}.json`,
    title: input.kind,
    type: 'object',
    properties: {
      apiVersion: enumOf(...input.versions.map((v) => `${input.group}/${v}`)),
      kind: enumOf(input.kind),
      metadata: ref('ObjectMeta'),
      spec: ref(`${input.kind}Spec`),
    },
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    $defs: { ...COMMON_DEFS, ...input.defs },
  };
}

/** Istio's networking PortSelector: a port number. */
export const PortSelector: JsonSchema = obj({ number: port });
