// Kubernetes object names and label syntax (k8s.io/apimachinery/pkg/util/validation): DNS-1123
// labels and subdomains, qualified names for label and annotation keys, label values.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Quotes a value for a message, cut to a readable length. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

/** Why `v` is not a DNS-1123 label (at most 63 characters), or undefined when it is one. */
export function dns1123LabelProblem(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 63) return 'must be at most 63 characters';
  if (!DNS1123_LABEL.test(v)) return 'use lowercase letters, digits and "-", starting and ending with a letter or digit (a DNS-1123 label)';
  return undefined;
}

/** Why `v` is not a DNS-1123 subdomain (at most 253 characters), or undefined when it is one. */
export function dns1123SubdomainProblem(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 253) return 'must be at most 253 characters';
  if (!DNS1123_SUBDOMAIN.test(v)) {
    return 'use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit (a DNS-1123 subdomain)';
  }
  return undefined;
}

/** Why `v` is not a Kubernetes qualified name (`[prefix/]name`, as label and annotation keys are). */
export function qualifiedNameProblem(v: string): string | undefined {
  if (v.includes('*')) return 'wildcard "*" is not allowed in a label key';
  const slash = v.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : v.slice(0, slash);
  const name = slash === -1 ? v : v.slice(slash + 1);
  if (prefix !== undefined) {
    const p = dns1123SubdomainProblem(prefix);
    if (p !== undefined) return `prefix ${quote(prefix)}: ${p}`;
  }
  if (name.length === 0) return 'name part must not be empty';
  if (name.length > 63) return 'name part must be at most 63 characters';
  if (!QUALIFIED_NAME.test(name)) {
    return 'name part must use letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why `v` is not a Kubernetes label value (empty, or at most 63 characters of the qualified-name alphabet). */
export function labelValueProblem(v: string): string | undefined {
  if (v.includes('*')) return 'wildcard "*" is not allowed in a label value';
  if (v.length > 63) return 'must be at most 63 characters';
  if (!LABEL_VALUE.test(v)) return 'use letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  return undefined;
}
