// One HTTP/2 exchange relayed between a stream the sidecar serves (`down`: the app's, on the
// outbound h2c port, or a peer sidecar's, on the inbound port) and the stream it opened for it
// (`up`: on a mesh session, or to the app over h2c). Everything HTTP/2 carries goes through:
// headers, bodies with backpressure (pipe both ways), trailers both ways (gRPC's status lives in
// them), and resets both ways: the client cancels and the upstream stream is cancelled; the
// upstream resets and the client's stream is reset with the same code. Interim (1xx) responses
// stay on their hop.
import { constants as h2c, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { HOP_BY_HOP } from './hop-headers.js';

/** What the relay tells the exchange that owns it. */
export interface RelayOwner {
  /**
   * The upstream stream closed before a response could be relayed: `rstCode` as it closed
   * (REFUSED_STREAM: never processed), or -1 with `cause` when the response's headers cannot be
   * relayed. The owner answers the client (or retries); the relay touches `down` no more.
   */
  upstreamFailed(rstCode: number, cause?: unknown): void;
}

/**
 * Tells the serving sidecar the caller's app spoke HTTP/2, so it may reach its own app over h2c
 * (`appProtocol: 'auto'`). A sidecar-owned name: the serving side drops it before policy and app.
 */
export const VIA_H2_HEADER = 'x-weft-protocol';

const kRelay = Symbol('weft.h2.relay');
type Tagged = { [kRelay]?: H2Relay };

/** Response or trailer fields to pass on: no pseudo-headers, nothing connection-specific. */
export function endToEndFields(src: IncomingHttpHeaders, out: OutgoingHttpHeaders): OutgoingHttpHeaders {
  for (const name in src) {
    if (name.charCodeAt(0) === 0x3a /* ':' */) continue;
    if (HOP_BY_HOP.has(name)) continue;
    const value = src[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

// === H2Relay ===

export class H2Relay {
  readonly down: ServerHttp2Stream;
  readonly up: ClientHttp2Stream;
  readonly owner: RelayOwner;
  responded = false;
  /** The response ended with its headers (trailers-only, HEAD, 204): no body will be read. */
  headersOnly = false;
  /** Set once the owner took over `down` (an upstream failure, a deadline): upstream events are ignored. */
  detached = false;
  /**
   * Set when a stream is being reset rather than ended. Node's close() ends the writable side
   * first; a stream waiting for trailers then sends none, so the peer sees RST_STREAM alone,
   * never a clean (and truncated) end.
   */
  resetting = false;
  requestTrailers: OutgoingHttpHeaders | undefined;
  responseTrailers: OutgoingHttpHeaders | undefined;

  /**
   * Starts relaying. `up` must have been opened with `waitForTrailers` unless `requestEnded`
   * (the client's request had no body): the request's trailers are sent from its 'wantTrailers'.
   */
  constructor(down: ServerHttp2Stream, up: ClientHttp2Stream, owner: RelayOwner, requestEnded: boolean) {
    this.down = down;
    this.up = up;
    this.owner = owner;
    (up as Tagged)[kRelay] = this;
    (down as Tagged)[kRelay] = this;
    up.on('error', ignore);
    up.on('response', onUpResponse);
    up.on('trailers', onUpTrailers);
    up.once('close', onUpClose);
    if (!requestEnded) {
      if (down.listenerCount('trailers') === 0) down.on('trailers', onDownTrailers);
      up.on('wantTrailers', onUpWantTrailers);
      down.pipe(up);
    }
  }

  /** Stops relaying from upstream (the owner answers the client itself) and cancels the upstream stream. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.up.unpipe(this.down);
    this.down.unpipe(this.up);
    this.cancelUp();
  }

  cancelUp(): void {
    if (this.up.destroyed || this.up.closed) return;
    this.resetting = true;
    this.up.close(h2c.NGHTTP2_CANCEL);
  }

  /**
   * Ends a response already begun with `trailers` in place of the upstream's (a gRPC status the
   * sidecar sets); false when the response cannot take trailers any more.
   */
  endWithTrailers(trailers: OutgoingHttpHeaders): boolean {
    const down = this.down;
    if (!this.responded || down.destroyed || down.writableEnded) return false;
    this.responseTrailers = trailers;
    down.end();
    return true;
  }

  onResponse(headers: IncomingHttpHeaders, flags: number): void {
    if (this.detached || this.down.destroyed || this.down.closed) return;
    const status = Number(headers[':status']);
    const endStream = (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0;
    try {
      this.down.respond(endToEndFields(headers, { ':status': status }), endStream ? { endStream: true } : { waitForTrailers: true });
    } catch (err) {
      // A field HTTP/2 refuses on this hop (the stream is still unanswered).
      this.detached = true;
      this.cancelUp();
      this.owner.upstreamFailed(-1, err);
      return;
    }
    this.responded = true;
    if (endStream) {
      this.headersOnly = true;
      return;
    }
    this.down.on('wantTrailers', onDownWantTrailers);
    this.up.pipe(this.down);
  }

  onUpClose(): void {
    if (this.detached) return;
    const code = this.up.rstCode ?? h2c.NGHTTP2_NO_ERROR;
    if (!this.responded) {
      this.detached = true;
      this.down.unpipe(this.up);
      this.owner.upstreamFailed(code);
      return;
    }
    const down = this.down;
    if (down.destroyed || down.closed || (code === h2c.NGHTTP2_NO_ERROR && (this.up.readableEnded || this.headersOnly))) return;
    this.resetting = true;
    this.up.unpipe(down);
    down.close(code === h2c.NGHTTP2_NO_ERROR ? h2c.NGHTTP2_INTERNAL_ERROR : code);
  }

  /**
   * The owner's 'close' handler of the client's stream calls this (the owner keeps that event: a
   * retry gives the same client stream a new relay). Cancels the upstream stream if still open;
   * true when a response was relayed in full with no reset.
   */
  downClosed(): boolean {
    this.cancelUp();
    return !this.detached && this.responded && this.down.rstCode === h2c.NGHTTP2_NO_ERROR;
  }
}

function ignore(): void {
  // Decided on 'close', where rstCode says what happened.
}

function onUpResponse(this: ClientHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
  (this as Tagged)[kRelay]!.onResponse(headers, flags);
}

function onUpTrailers(this: ClientHttp2Stream, headers: IncomingHttpHeaders): void {
  const relay = (this as Tagged)[kRelay]!;
  if (!relay.detached) relay.responseTrailers = endToEndFields(headers, {});
}

function onDownTrailers(this: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  (this as Tagged)[kRelay]!.requestTrailers = endToEndFields(headers, {});
}

function onUpWantTrailers(this: ClientHttp2Stream): void {
  const relay = (this as Tagged)[kRelay]!;
  // Empty trailers end the stream with an empty DATA frame (Node's sendTrailers).
  if (!relay.resetting) this.sendTrailers(relay.requestTrailers ?? {});
}

function onDownWantTrailers(this: ServerHttp2Stream): void {
  const relay = (this as Tagged)[kRelay]!;
  if (!relay.resetting || relay.detached) this.sendTrailers(relay.responseTrailers ?? {});
}

function onUpClose(this: ClientHttp2Stream): void {
  (this as Tagged)[kRelay]!.onUpClose();
}

