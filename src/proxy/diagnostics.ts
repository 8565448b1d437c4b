// Named diagnostics channels of the data path (style.md §15), for tests and tracing tools to
// observe events without a logger. Publishing costs nothing when no one subscribes.
import { channel } from 'node:diagnostics_channel';
import type { RequestAttributes } from '../policy/index.js';

/**
 * A peer refused at the inbound port (InboundRefusedMessage). `stage`: 'tls' the handshake
 * failed, 'chain' no certificate or one that does not chain to the bundle, 'svid' a leaf that
 * breaks the X.509-SVID rules, 'alpn' a verified peer that does not speak h2, 'revoked' a peer
 * whose certificate is on the snapshot's revocation list.
 */
export const inboundRefusedChannel = channel('weft:proxy:inbound:refused');

/** An outbound session was opened: `{ endpoint, peer }`. */
export const sessionOpenedChannel = channel('weft:proxy:outbound:session-opened');

export interface InboundRefusedMessage {
  readonly stage: 'tls' | 'chain' | 'svid' | 'alpn' | 'revoked';
  readonly remote: string;
  readonly reason: string;
  readonly peer?: string;
}

/**
 * An inbound request or tunnel was decided (InboundDecidedMessage): the attributes exactly as
 * AuthorizationPolicy evaluated them, so a tracer (or a test) can compare them with what the app
 * received.
 */
export const inboundDecidedChannel = channel('weft:proxy:inbound:decided');

export interface InboundDecidedMessage {
  readonly attributes: RequestAttributes;
  readonly allow: boolean;
}
