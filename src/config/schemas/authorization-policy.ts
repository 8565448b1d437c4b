// AuthorizationPolicy (security.istio.io/v1, v1beta1): https://istio.io/latest/docs/reference/config/security/authorization-policy/
// Admission rules follow Istio's validation (reference/istio-security.md §3.14).
import { conditionKey } from '../checks/conditions.js';
import { runCheck } from '../checks/index.js';
import type { AuthorizationPolicy } from '../generated/types.js';
import type { PathIssue } from '../schema-issues.js';
import { enumOf, kindSchema, list, obj, ref, str, text, values } from './common.js';
import { arr, pathIssue, type KindDefinition } from './kind.js';

const defs = {
  AuthorizationPolicySpec: obj(
    {
      selector: ref('WorkloadSelector'),
      targetRef: ref('PolicyTargetReference'),
      targetRefs: list(ref('PolicyTargetReference'), { maxItems: 16 }),
      rules: list(ref('Rule'), { maxItems: 512 }),
      action: enumOf('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
      provider: ref('AuthorizationPolicyProvider'),
    },
    { exclusive: [['selector', 'targetRef', 'targetRefs']] },
  ),
  AuthorizationPolicyProvider: obj({ name: text() }),
  Rule: obj({
    from: list(ref('RuleFrom'), { minItems: 1, maxItems: 512 }),
    to: list(ref('RuleTo'), { minItems: 1 }),
    when: list(ref('Condition'), { minItems: 1 }),
  }),
  RuleFrom: obj({ source: ref('Source') }, { required: ['source'] }),
  RuleTo: obj({ operation: ref('Operation') }, { required: ['operation'] }),
  Source: obj(
    {
      principals: values('principal'),
      notPrincipals: values('principal'),
      requestPrincipals: values('requestPrincipal'),
      notRequestPrincipals: values('requestPrincipal'),
      namespaces: values('namespaceMatch'),
      notNamespaces: values('namespaceMatch'),
      serviceAccounts: values('serviceAccount', { maxItems: 16, items: str('serviceAccount', { maxLength: 320 }) }),
      notServiceAccounts: values('serviceAccount', { maxItems: 16, items: str('serviceAccount', { maxLength: 320 }) }),
      ipBlocks: values('cidr'),
      notIpBlocks: values('cidr'),
      remoteIpBlocks: values('cidr'),
      notRemoteIpBlocks: values('cidr'),
      trustDomains: values('trustDomainMatch'),
      notTrustDomains: values('trustDomainMatch'),
    },
    {
      minProperties: 1,
      exclusive: [[['serviceAccounts', 'notServiceAccounts'], ['principals', 'notPrincipals', 'namespaces', 'notNamespaces']]],
    },
  ),
  Operation: obj(
    {
      hosts: values('stringMatch'),
      notHosts: values('stringMatch'),
      ports: values('portString'),
      notPorts: values('portString'),
      methods: values('method'),
      notMethods: values('method'),
      paths: values('requestPath'),
      notPaths: values('requestPath'),
    },
    { minProperties: 1 },
  ),
  Condition: obj({ key: str('conditionKey'), values: list(str()), notValues: list(str()) }, { required: ['key'], atLeastOne: ['values', 'notValues'] }),
};

/** Source fields and condition keys that name who the caller is, which CUSTOM cannot use. */
const IDENTITY_FIELDS = [
  'principals',
  'notPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'trustDomains',
  'notTrustDomains',
  'requestPrincipals',
  'notRequestPrincipals',
] as const;
const IDENTITY_KEYS = /^(source\.(namespace|principal|serviceAccount|trustDomain)|request\.auth\..*)$/;

/** The values in `when` must suit their key (an IP for source.ip, a principal for source.principal...). */
function conditionValues(r: AuthorizationPolicy): PathIssue[] {
  const out: PathIssue[] = [];
  arr(r.spec.rules).forEach((rule, i) => {
    arr(rule?.when).forEach((cond, j) => {
      if (typeof cond?.key !== 'string') return;
      const k = conditionKey(cond.key);
      if (!('check' in k)) return;
      for (const field of ['values', 'notValues'] as const) {
        arr(cond[field]).forEach((v, n) => {
          const failure = runCheck(k.check, v);
          if (failure !== undefined) out.push(pathIssue(['spec', 'rules', i, 'when', j, field, n], failure.code, failure.message));
        });
      }
    });
  });
  return out;
}

/** `provider` goes with action CUSTOM and nothing else; CUSTOM names its provider. */
function customProvider(r: AuthorizationPolicy): PathIssue[] {
  const custom = r.spec.action === 'CUSTOM';
  if (!custom && r.spec.provider !== undefined) {
    return [pathIssue(['spec', 'provider'], 'WEFT_CONFIG_MISSING_DEPENDENCY', '"provider" is used only with action CUSTOM', 'key')];
  }
  if (custom && (typeof r.spec.provider?.name !== 'string' || r.spec.provider.name === '')) {
    return [pathIssue(['spec', 'action'], 'WEFT_CONFIG_MISSING_DEPENDENCY', 'action CUSTOM requires provider.name, an extension provider of the MeshConfig')];
  }
  return [];
}

/** DENY and CUSTOM without rules would never match; Istio refuses them. */
function rulesRequired(r: AuthorizationPolicy): PathIssue[] {
  const action = r.spec.action;
  if ((action === 'DENY' || action === 'CUSTOM') && arr(r.spec.rules).length === 0) {
    return [pathIssue(['spec', 'action'], 'WEFT_CONFIG_REQUIRED_FIELD', `action ${action} requires rules; use "rules: [{}]" to match every request`)];
  }
  return [];
}

/** CUSTOM runs before identities are checked, so its rules cannot match on them. */
function customIdentity(r: AuthorizationPolicy): PathIssue[] {
  if (r.spec.action !== 'CUSTOM') return [];
  const out: PathIssue[] = [];
  arr(r.spec.rules).forEach((rule, i) => {
    arr(rule?.from).forEach((from, j) => {
      for (const field of IDENTITY_FIELDS) {
        if (from?.source?.[field] !== undefined) {
          out.push(pathIssue(['spec', 'rules', i, 'from', j, 'source', field], 'WEFT_CONFIG_EXCLUSIVE_FIELDS', `${JSON.stringify(field)} cannot be used with action CUSTOM`, 'key'));
        }
      }
    });
    arr(rule?.when).forEach((cond, j) => {
      if (typeof cond?.key === 'string' && IDENTITY_KEYS.test(cond.key)) {
        out.push(pathIssue(['spec', 'rules', i, 'when', j, 'key'], 'WEFT_CONFIG_EXCLUSIVE_FIELDS', `condition ${JSON.stringify(cond.key)} cannot be used with action CUSTOM`));
      }
    });
  });
  return out;
}

const GO_BOOLEANS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Istio enforces a policy whose dry-run annotation does not parse; weft refuses it instead. */
function dryRunAnnotation(r: AuthorizationPolicy): PathIssue[] {
  const value = r.metadata.annotations?.['istio.io/dry-run'];
  if (value === undefined || GO_BOOLEANS.has(value)) return [];
  const message = `invalid value ${JSON.stringify(value)}: istio.io/dry-run must be "true" or "false"`;
  return [pathIssue(['metadata', 'annotations', 'istio.io/dry-run'], 'WEFT_CONFIG_INVALID_VALUE', message)];
}

export const authorizationPolicy: KindDefinition<AuthorizationPolicy> = {
  kind: 'AuthorizationPolicy',
  group: 'security.istio.io',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  schema: kindSchema({ kind: 'AuthorizationPolicy', group: 'security.istio.io', versions: ['v1', 'v1beta1'], defs }),
  crossChecks: [conditionValues, customProvider, rulesRequired, customIdentity, dryRunAnnotation],
};
