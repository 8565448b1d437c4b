// RequestAuthentication (security.istio.io/v1, v1beta1): https://istio.io/latest/docs/reference/config/security/request_authentication/
import type { RequestAuthentication } from '../generated/types.js';
import { bool, duration, kindSchema, list, obj, ref, str, text, values } from './common.js';
import type { KindDefinition } from './kind.js';

const defs = {
  RequestAuthenticationSpec: obj(
    {
      selector: ref('WorkloadSelector'),
      targetRef: ref('PolicyTargetReference'),
      targetRefs: list(ref('PolicyTargetReference'), { maxItems: 16 }),
      jwtRules: list(ref('JWTRule'), { maxItems: 4096 }),
    },
    { exclusive: [['selector', 'targetRef', 'targetRefs']] },
  ),
  JWTRule: obj(
    {
      issuer: text(),
      audiences: values(),
      jwksUri: str('httpUrl', { minLength: 1, maxLength: 2048 }),
      jwks: text('jwks'),
      fromHeaders: list(ref('JWTHeader')),
      fromParams: values(),
      fromCookies: values(),
      outputPayloadToHeader: text('headerName'),
      forwardOriginalToken: bool,
      outputClaimToHeaders: list(ref('ClaimToHeader'), { uniqueBy: 'header' }),
      timeout: duration,
      spaceDelimitedClaims: values(undefined, { maxItems: 64 }),
    },
    { required: ['issuer'], exclusive: [['jwks', 'jwksUri']] },
  ),
  JWTHeader: obj({ name: text('headerName'), prefix: str() }, { required: ['name'] }),
  ClaimToHeader: obj({ header: str(undefined, { minLength: 1, pattern: '^[-_A-Za-z0-9]+$' }), claim: text() }, { required: ['header', 'claim'] }),
};

export const requestAuthentication: KindDefinition<RequestAuthentication> = {
  kind: 'RequestAuthentication',
  group: 'security.istio.io',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  schema: kindSchema({ kind: 'RequestAuthentication', group: 'security.istio.io', versions: ['v1', 'v1beta1'], defs }),
  crossChecks: [],
};
