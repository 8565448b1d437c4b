// The client side of a request that goes to an ext_authz provider: its body, read up to
// maxRequestBytes for the check and then given back to the stream unread (so forwarding streams
// it to the app whole), and the answer of a denial with the provider's status, headers and body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { PROXY_ERROR_HEADER } from '../rescue.js';

/** Where a request came from: its body and how to answer it. */
export interface Downstream {
  readonly kind: 'downstream';
  readonly body: Readable;
  /** True when the request has no body at all (END_STREAM on its headers, or no body on HTTP/1.1). */
  readonly empty: boolean;
  /** HTTP/2: 'end' must be seen again by whoever reads the body next (see readBodyForCheck). */
  readonly replayEnd?: boolean;
  respond(status: number, headers: readonly (readonly [string, string])[], body: string): void;
}

export function h2Downstream(stream: ServerHttp2Stream): Downstream {
  return {
    kind: 'downstream',
    body: stream,
    empty: stream.endAfterHeaders,
    replayEnd: true,
    respond(status, headers, body) {
      if (stream.destroyed || stream.headersSent) return;
      const out: Record<string, string | string[] | number> = {};
      for (const [k, v] of headers) {
        const seen = out[k];
        out[k] = seen === undefined ? v : Array.isArray(seen) ? [...seen, v] : [String(seen), v];
      }
      out[':status'] = status;
      out['content-length'] = Buffer.byteLength(body);
      try {
        stream.respond(out);
      } catch {
        // A header HTTP/2 refuses: answer without the provider's headers rather than not at all.
        try {
          stream.respond({ ':status': status, 'content-length': Buffer.byteLength(body), [PROXY_ERROR_HEADER]: headerValue(headers) });
        } catch {
          stream.respond({ ':status': status, 'content-length': Buffer.byteLength(body) });
        }
      }
      stream.end(body);
    },
  };
}

export function h1Downstream(req: IncomingMessage, res: ServerResponse): Downstream {
  return {
    kind: 'downstream',
    body: req,
    empty: req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length'] ?? 0) === 0,
    respond(status, headers, body) {
      if (res.headersSent) return;
      const flat: string[] = [];
      for (const [k, v] of headers) flat.push(k, v);
      flat.push('content-length', String(Buffer.byteLength(body)));
      try {
        res.writeHead(status, flat);
      } catch {
        try {
          res.writeHead(status, ['content-length', String(Buffer.byteLength(body)), PROXY_ERROR_HEADER, headerValue(headers)]);
        } catch {
          res.writeHead(status, ['content-length', String(Buffer.byteLength(body))]);
        }
      }
      res.end(body);
    },
  };
}

function headerValue(headers: readonly (readonly [string, string])[]): string {
  return headers.find(([k]) => k === PROXY_ERROR_HEADER)?.[1] ?? '';
}

export type BodyRead =
  | { readonly kind: 'ok'; readonly bytes: Buffer; readonly partial: boolean }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

/**
 * True once the stream has received its end. Node keeps this only in the readable state
 * (`readableEnded` turns true only after 'end' is emitted, and by then nothing can be given back).
 */
function endReceived(s: Readable): boolean {
  return s.readableEnded || (s as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
}

/**
 * An empty body that ended: Node's HTTP/2 reads the end with read(0) as it arrives, so 'end' is
 * emitted before forwarding listens for it and nothing can be put back to hold it. The one who
 * listens next (the forwarder, a moment later) is given it again.
 */
function replayEnd(s: Readable): void {
  const onListener = (event: string | symbol): void => {
    if (event !== 'end') return;
    s.off('newListener', onListener);
    // Only an 'end' already gone by is given again; one still to come reaches the listener itself.
    if (!s.readableEnded) return;
    setImmediate(() => {
      if (!s.destroyed && s.listenerCount('end') > 0) s.emit('end');
    });
  };
  s.on('newListener', onListener);
}

/**
 * Reads the body up to `max` bytes (or to its end) without letting 'end' be emitted, then puts
 * every byte read back at the front of the stream: forwarding later reads the body whole.
 */
export function readBodyForCheck(down: Downstream, max: number, timeoutMs: number): Promise<BodyRead> {
  const s = down.body;
  // Already ended with nothing buffered: attaching 'readable' now would make Node emit 'end'
  // before forwarding listens for it.
  if (down.empty) return Promise.resolve({ kind: 'ok', bytes: Buffer.alloc(0), partial: false });
  if (endReceived(s) && s.readableLength === 0) {
    if (down.replayEnd === true) replayEnd(s);
    return Promise.resolve({ kind: 'ok', bytes: Buffer.alloc(0), partial: false });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (r: BodyRead): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.off('readable', onReadable);
      s.off('close', onClose);
      s.off('error', onClose);
      if (chunks.length > 0 && r.kind !== 'aborted' && !s.destroyed) s.unshift(Buffer.concat(chunks));
      else if (r.kind === 'ok' && down.replayEnd === true) replayEnd(s);
      resolve(r);
    };
    const onReadable = (): void => {
      while (total <= max) {
        const n = s.readableLength;
        if (n === 0) break;
        // read(n) with exactly the buffered length never triggers 'end', so the bytes can go back.
        const c = s.read(n) as Buffer | null;
        if (c === null) break;
        chunks.push(c);
        total += c.length;
      }
      if (total > max) return finish({ kind: 'ok', bytes: Buffer.concat(chunks).subarray(0, max), partial: true });
      if (endReceived(s)) finish({ kind: 'ok', bytes: Buffer.concat(chunks), partial: false });
    };
    const onClose = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    s.on('readable', onReadable);
    s.once('close', onClose);
    s.once('error', onClose);
    onReadable();
  });
}
