// The CUSTOM stage on the request path: a CUSTOM policy selected the request (evaluate() said so
// in decision.custom), so its provider is asked before the DENY/ALLOW verdict may stand. The
// body goes along when the provider asks for it; a denial is answered here with the provider's
// status, headers and body and `x-weft-proxy-error: UAEX ...`; an allowance applies the
// provider's header changes to the request the app receives.
import { applyCustomResult, type CheckInput, type Decision, type RequestAttributes } from '../../policy/index.js';
import type { Logger } from '../../telemetry/logger.js';
import { PROXY_ERROR_HEADER } from '../rescue.js';
import type { InboundConnectionFacts, InboundPolicy, InboundVerdict } from '../inbound/authorize.js';
import type { InboundRequest } from '../inbound/request.js';
import type { HeaderEdit } from './answer.js';
import { readBodyForCheck, type Downstream } from './downstream.js';
import type { ExtAuthzErrorCode } from './errors.js';
import { EXT_AUTHZ_FLAG } from './runtime.js';

/** A slow client may hold a check this long at most while its body is read. */
const BODY_WAIT_CAP_MS = 30_000;

export interface CustomInput {
  readonly policy: InboundPolicy;
  readonly decision: Decision;
  readonly request: InboundRequest;
  readonly attributes: RequestAttributes;
  readonly conn: InboundConnectionFacts;
  readonly appPort: number;
  readonly down: Downstream | undefined;
  readonly logger: Logger;
}

export interface CustomVerdict {
  readonly decision: Decision;
  /** Allowed: the request with the provider's header changes. */
  readonly request?: InboundRequest;
  readonly responseHeaders?: readonly (readonly [string, string])[];
  /** Denied at the CUSTOM stage: the answer (already written when a downstream was given). */
  readonly verdict?: InboundVerdict;
}

function deny(input: CustomInput, decision: Decision, code: ExtAuthzErrorCode, status: number, reason: string, headers: readonly (readonly [string, string])[], body: string): CustomVerdict {
  // The reason may quote a provider's error text: printable ASCII only, bounded, in a header.
  const safe = reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 300).trim();
  const all = [...headers, [PROXY_ERROR_HEADER, `${EXT_AUTHZ_FLAG} ${code}: ${safe}`] as const];
  if (!all.some(([k]) => k === 'content-type')) all.push(['content-type', 'text/plain']);
  input.down?.respond(status, all, body);
  return { decision, verdict: { allow: false, status, body, answered: input.down !== undefined } };
}

function withEdits(request: InboundRequest, edits: readonly HeaderEdit[], remove: readonly string[]): InboundRequest {
  if (edits.length === 0 && remove.length === 0) return request;
  const fields: Record<string, string | readonly string[]> = { ...request.fields };
  for (const name of remove) delete fields[name];
  for (const e of edits) {
    const seen = Object.hasOwn(fields, e.name) ? fields[e.name] : undefined;
    if (e.ifAbsent === true && seen !== undefined) continue;
    if (e.append && seen !== undefined) fields[e.name] = [...(typeof seen === 'string' ? [seen] : seen), e.value];
    else if (e.name === '__proto__') Object.defineProperty(fields, e.name, { value: e.value, enumerable: true, writable: true, configurable: true });
    else fields[e.name] = e.value;
  }
  return { ...request, fields };
}

export async function checkCustom(input: CustomInput): Promise<CustomVerdict> {
  const { decision, request, conn } = input;
  const custom = decision.custom!;
  const runtime = input.policy.extAuthz?.get(custom.provider);
  if (runtime === undefined) {
    const reason = `provider ${JSON.stringify(custom.provider)} has no client in this sidecar`;
    const d = applyCustomResult(decision, { allowed: false, error: true, status: 403, reason });
    return deny(input, d, 'WEFT_EXTAUTHZ_FAILED', 403, reason, [], 'RBAC: access denied');
  }
  const p = runtime.provider;
  let body: CheckInput['body'];
  const length = request.fields['content-length'];
  if (p.body !== undefined && input.down !== undefined && length !== '0') {
    const read = await readBodyForCheck(input.down, p.body.maxRequestBytes, Math.min(p.timeoutMs, BODY_WAIT_CAP_MS));
    if (read.kind === 'aborted') return { decision: applyCustomResult(decision, { allowed: false, error: true, status: 400, reason: 'the client went away' }), verdict: { allow: false, status: 400, body: '', answered: true } };
    if (read.kind === 'timeout') {
      const reason = 'the request body did not arrive in time for the authorization check';
      return deny(input, applyCustomResult(decision, { allowed: false, error: true, status: 408, reason }), 'WEFT_EXTAUTHZ_BODY_TIMEOUT', 408, reason, [], `${reason}\n`);
    }
    // Over maxRequestBytes without allowPartialMessage: 413, ahead of failOpen (Envoy).
    if (read.kind === 'ok' && read.partial && !p.body.allowPartialMessage) {
      const reason = `the request body is over maxRequestBytes (${p.body.maxRequestBytes}) of provider ${JSON.stringify(p.name)}`;
      return deny(input, applyCustomResult(decision, { allowed: false, error: true, status: 413, reason }), 'WEFT_EXTAUTHZ_BODY_TOO_LARGE', 413, reason, [], 'Payload Too Large');
    }
    if (read.kind === 'ok') body = { bytes: read.bytes, partial: read.partial };
  }
  const check: CheckInput = {
    method: request.method,
    target: request.target,
    authority: request.authority,
    fields: request.fields,
    protocol: conn.peerSpiffeId === undefined ? 'HTTP/1.1' : 'HTTP/2',
    ...(conn.peerSpiffeId === undefined ? {} : { sourcePrincipal: conn.peerSpiffeId }),
    ...(conn.sourceIp === undefined ? {} : { sourceAddress: conn.sourceIp }),
    ...(conn.destinationIp === undefined ? {} : { destinationAddress: conn.destinationIp }),
    destinationPort: input.appPort,
    ...(conn.sni === undefined ? {} : { sni: conn.sni }),
    ...(body === undefined ? {} : { body }),
    size: typeof length === 'string' && /^\d{1,15}$/.test(length) ? Number(length) : -1,
  };
  const jwtOutputs = input.policy.jwt?.authn.protectedHeaders ?? [];
  const log = { peer: conn.peerSpiffeId ?? null, method: request.method, path: input.attributes.path, policy: `${custom.policy.namespace}/${custom.policy.name}` };
  const outcome = await runtime.check(check, jwtOutputs, log);
  const final = applyCustomResult(decision, outcome.result);
  const result = outcome.result;
  if (!result.allowed) {
    const a = outcome.answer;
    if (a?.kind === 'deny') return deny(input, final, 'WEFT_EXTAUTHZ_DENIED', a.status, `denied by provider ${JSON.stringify(p.name)}`, a.headers, a.body);
    return deny(input, final, 'WEFT_EXTAUTHZ_FAILED', result.status, result.reason, [], 'RBAC: access denied');
  }
  const a = outcome.answer;
  if (a?.kind !== 'allow') return { decision: final };
  return { decision: final, request: withEdits(request, a.upstream, a.remove), ...(a.downstream.length === 0 ? {} : { responseHeaders: a.downstream }) };
}
