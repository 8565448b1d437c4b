// gRPC at the proxy: which requests are gRPC, what their `grpc-timeout` asks for, and how an
// answer the sidecar gives itself reads to a gRPC client. A gRPC client reads its call's outcome
// from `grpc-status`, never from the HTTP status, so a local reply to a gRPC request is HTTP 200,
// `content-type: application/grpc`, trailers-only (one HEADERS frame with END_STREAM), with the
// HTTP status the reply would have had mapped as Envoy's gRPC local replies map it
// (Grpc::Utility::httpToGrpcStatus).
import type { OutgoingHttpHeaders } from 'node:http2';

/** The gRPC status codes the sidecar gives itself (grpc/doc/statuscodes.md). */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** True for `application/grpc` and its `+proto`, `+json`... variants (the gRPC-over-HTTP/2 spec). */
export function isGrpcContentType(value: string | string[] | undefined): boolean {
  if (typeof value !== 'string') return false;
  if (!value.startsWith('application/grpc')) return false;
  const next = value.charCodeAt(16);
  // Exactly the type, or followed by '+' (a codec) or ';' (parameters); not application/grpc-web.
  return Number.isNaN(next) || next === 0x2b || next === 0x3b;
}

/** The gRPC status Envoy gives a local reply of HTTP status `http`. */
export function grpcStatusOfHttp(http: number): number {
  switch (http) {
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_STATUS.UNAVAILABLE;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/**
 * The longest deadline the sidecar enforces itself: Node's timers hold at most 2^31-1 ms (a
 * longer one fires at once). A longer `grpc-timeout` still travels to the app, which enforces it.
 */
export const MAX_GRPC_TIMEOUT_MS = 2 ** 31 - 1;

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * A `grpc-timeout` value (1 to 8 ASCII digits and a unit, H M S m u n) in whole milliseconds,
 * rounded up so a sub-millisecond deadline is not infinite; capped at MAX_GRPC_TIMEOUT_MS.
 * Undefined for a malformed value and for 0, which Envoy reads as "no deadline": a malformed
 * header is ignored, as Envoy does, and the app still receives it.
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined;
  const unit = UNIT_MS[value[value.length - 1]!];
  if (unit === undefined) return undefined;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  if (n === 0) return undefined;
  return Math.min(Math.ceil(n * unit), MAX_GRPC_TIMEOUT_MS);
}

/**
 * `grpc-message` is percent-encoded (the gRPC spec: bytes outside 0x20-0x7e, and '%' itself), so
 * any reason text is a valid header value.
 */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The trailers-only headers of a local reply to a gRPC request. */
export function grpcLocalReply(grpcStatus: number, message: string): OutgoingHttpHeaders {
  return { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpcStatus), 'grpc-message': encodeGrpcMessage(message) };
}
