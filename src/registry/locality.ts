// Where a workload runs, as Istio's locality: `region/zone/subzone`. Each part is what a
// Kubernetes topology label value may be (empty, or up to 63 letters, digits, "-", "_" and ".",
// beginning and ending with a letter or digit). Fewer parts are padded with empty ones, so every
// endpoint carries either '' (unknown) or exactly three parts.
import { RegistryError } from './errors.js';
import { labelValueProblem } from './labels.js';

/** 3 parts of at most 63 characters and their 2 separators. */
export const MAX_LOCALITY_LENGTH = 3 * 63 + 2;

/** Why `locality` is not one, or undefined when it is. */
export function localityProblem(locality: unknown): string | undefined {
  if (typeof locality !== 'string') return 'a locality is a string, region/zone/subzone';
  if (locality.length > MAX_LOCALITY_LENGTH) return `it is ${locality.length} characters long; at most ${MAX_LOCALITY_LENGTH}`;
  if (locality === '') return undefined;
  const parts = locality.split('/');
  if (parts.length > 3) return `it has ${parts.length} parts; a locality is region/zone/subzone`;
  for (const [i, part] of parts.entries()) {
    const problem = labelValueProblem(part);
    if (problem !== undefined) return `its ${['region', 'zone', 'subzone'][i]} ${JSON.stringify(part.length > 80 ? `${part.slice(0, 80)}…` : part)} is not valid: ${problem.replace(/^the value/, 'it')}`;
  }
  if (parts[0] === '' && parts.some((p) => p !== '')) return 'a zone or subzone needs its region';
  return undefined;
}

/**
 * Checks a locality and pads it to three parts ('' stays '').
 *
 * @throws RegistryError WEFT_REGISTRATION_INVALID saying which part is wrong.
 */
export function normalizeLocality(locality: unknown): string {
  const problem = localityProblem(locality);
  if (problem !== undefined) throw new RegistryError('WEFT_REGISTRATION_INVALID', `locality: ${problem}`);
  const text = locality as string;
  if (text === '' || /^\/*$/.test(text)) return '';
  const parts = text.split('/');
  while (parts.length < 3) parts.push('');
  return parts.join('/');
}
