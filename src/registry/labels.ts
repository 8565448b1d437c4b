// Workload labels, bounded as Kubernetes bounds them (apimachinery validation: IsQualifiedName for
// keys, IsValidLabelValue for values), plus a cap on their number. Labels travel in every other
// workload's snapshot, so what one workload may put there must stay small.
//   key:   [prefix/]name, prefix a DNS-1123 subdomain of at most 253 characters, name at most 63
//          characters of [A-Za-z0-9._-] beginning and ending with an alphanumeric
//   value: empty, or at most 63 characters of [A-Za-z0-9._-] beginning and ending with an alphanumeric
import { RegistryError } from './errors.js';

/** At most this many labels per workload. */
export const MAX_LABELS = 64;
export const MAX_LABEL_PREFIX_LENGTH = 253;
export const MAX_LABEL_NAME_LENGTH = 63;
export const MAX_LABEL_VALUE_LENGTH = 63;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a label key, or undefined when it is one. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a label key has at most one "/" (prefix/name)';
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) return 'the prefix before "/" must not be empty';
    if (prefix.length > MAX_LABEL_PREFIX_LENGTH) return `the prefix is ${prefix.length} characters long; at most ${MAX_LABEL_PREFIX_LENGTH}`;
    if (!DNS1123_SUBDOMAIN.test(prefix)) return 'the prefix must be a DNS subdomain: lowercase letters, digits, "-" and ".", each part beginning and ending with a letter or digit';
  }
  if (name.length === 0) return 'the name must not be empty';
  if (name.length > MAX_LABEL_NAME_LENGTH) return `the name is ${name.length} characters long; at most ${MAX_LABEL_NAME_LENGTH}`;
  if (!QUALIFIED_NAME.test(name)) return 'the name must be letters, digits, "-", "_" and ".", beginning and ending with a letter or digit';
  return undefined;
}

/** Why `value` is not a label value, or undefined when it is one. */
export function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'a label value is a string';
  if (value.length > MAX_LABEL_VALUE_LENGTH) return `the value is ${value.length} characters long; at most ${MAX_LABEL_VALUE_LENGTH}`;
  if (!LABEL_VALUE.test(value)) return 'the value must be empty, or letters, digits, "-", "_" and ".", beginning and ending with a letter or digit';
  return undefined;
}

/** A short, safe rendering of a refused key or value (it may be huge, or hold control characters). */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/**
 * Checks a workload's labels.
 *
 * @throws RegistryError WEFT_REGISTRATION_INVALID naming the first label refused and why.
 */
export function validateLabels(labels: unknown): Readonly<Record<string, string>> {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new RegistryError('WEFT_REGISTRATION_INVALID', 'labels: a map of label keys to values is required');
  }
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw new RegistryError('WEFT_REGISTRATION_INVALID', `labels: ${entries.length} labels; a workload has at most ${MAX_LABELS}`);
  for (const [k, v] of entries) {
    const keyProblem = labelKeyProblem(k);
    if (keyProblem !== undefined) throw new RegistryError('WEFT_REGISTRATION_INVALID', `labels: ${shown(k)} is not a valid label key: ${keyProblem}`);
    const valueProblem = labelValueProblem(v);
    if (valueProblem !== undefined) throw new RegistryError('WEFT_REGISTRATION_INVALID', `labels.${k}: ${typeof v === 'string' ? shown(v) : typeof v} is not a valid label value: ${valueProblem}`);
  }
  return labels as Readonly<Record<string, string>>;
}
