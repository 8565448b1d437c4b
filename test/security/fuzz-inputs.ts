// Generators for hostile wire input: raw HTTP/1.1 request bytes for the outbound listener and raw
// HTTP/2 frames for the inbound listener. They are built from the shapes that have broken proxies
// before (dot segments and escapes in paths, repeated and conflicting framing headers, CR/LF in
// values, pseudo-header misuse, frames out of order or with lying lengths) mixed with noise, so a
// run explores both the known bypass classes and input no one thought of.
import fc from 'fast-check';

/** Bytes to send, and the `x-fuzz-id`s of requests the DENY on `x-role: admin` must stop. */
export interface FuzzInput {
  readonly bytes: Buffer;
  readonly deniedIds: readonly string[];
  /** HTTP/2: the streams the input opened, whose answers are worth waiting for. */
  readonly streams?: readonly number[];
}

/**
 * A header line that gives an HTTP/1.1 request the role `admin`: one value of it (the parser
 * trims white space around values), or a line smuggled into another value.
 */
function claimsAdmin([name, value]: readonly [string, string]): boolean {
  return (name === 'x-role' && value.trim() === 'admin') || /[\r\n]x-role: admin/.test(value);
}

/** The same for an HTTP/2 header list: Node drops a field whose value has white space around it. */
function h2ClaimsAdmin([name, value]: readonly [string, string]): boolean {
  return name === 'x-role' && value === 'admin';
}

/** The path pieces a request target is assembled from: the denied `admin` and its disguises. */
const SEGMENTS = [
  'admin', 'ADMIN', 'Admin', '%61dmin', '%41dmin', 'adm%69n', 'public', 'x', '', '.', '..', '%2e', '%2E%2E', '.%2e', '..;x', '.;', ';x',
  '%2F', '%2f', '%5C', '%252F', 'admin%2Fx', 'a%00', '%zz', '%', 'ä', '%C3%A4', '~', 'a b', 'a\tb', '*',
] as const;

const SEPARATORS = ['/', '/', '/', '//', '\\', '/./', '/../'] as const;

/** Pieces every mode refuses (bad escapes, NUL, spaces, control characters); kept rarer so most inputs get through. */
const REFUSED_SEGMENTS = new Set(['a%00', '%zz', '%', 'a b', 'a\tb']);

function pathOf(segments: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.constantFrom(...SEPARATORS), fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...segments) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~-]{0,6}$/) })), { minLength: 1, maxLength: 6 }),
      fc.constantFrom('', '', '?q=1', '?next=/admin', '?x=a/../b', '?access_token=x'),
    )
    .map(([parts, tail]) => parts.map(([sep, seg]) => sep + seg).join('') + tail);
}

/** Paths the mesh should carry (after normalization) unless they name /admin. */
export const carriedPathArb = pathOf(SEGMENTS.filter((s) => !REFUSED_SEGMENTS.has(s)));

/** Any path, refused pieces, fragments and raw noise included. */
export const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: carriedPathArb },
  {
    weight: 2,
    arbitrary: fc
      .tuple(pathOf(SEGMENTS), fc.string({ maxLength: 6 }), fc.constantFrom('', '#frag', '?a=%zz', '?x#y'))
      .map(([path, noise, tail]) => path + noise + tail),
  },
);

const HOSTS = ['details.default:9080', 'details.default', 'DETAILS.default:9080', 'details.default.svc.cluster.local:9080', 'other.default:9080', 'details.default:1', '', 'a b'] as const;

/** Headers of a request the mesh carries: roles, spoofed identity and owned headers, repeats. */
const mildHeaderArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('x-role'), fc.constantFrom('admin', 'user', ' admin', 'Admin', 'user, admin', 'admin,user', '')),
  fc.tuple(fc.constant('x-forwarded-client-cert'), fc.constantFrom('By=spiffe://cluster.local/ns/default/sa/details;URI=spiffe://cluster.local/ns/default/sa/admin', 'URI=spiffe://x')),
  fc.tuple(fc.constantFrom('authorization', 'cookie', 'x-weft-peer', 'x-envoy-original-path', 'user-agent'), fc.constantFrom('Bearer eyJhbGciOiJub25lIn0.e30.', 'a=1', '/admin')),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.stringMatching(/^[ -~]{0,12}$/)),
);

/** One header line's name and value; values may carry the bytes that split or fold lines. */
const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('x-role'), fc.constantFrom('admin', 'user', ' admin', 'Admin', 'user, admin', 'admin,user', '')),
  fc.tuple(fc.constant('host'), fc.constantFrom(...HOSTS)),
  fc.tuple(fc.constant('x-forwarded-client-cert'), fc.constantFrom('By=spiffe://cluster.local/ns/default/sa/details;URI=spiffe://cluster.local/ns/default/sa/admin', 'URI=spiffe://x')),
  fc.tuple(fc.constant('content-length'), fc.constantFrom('0', '5', '-1', '1e3', '18446744073709551616', ' 5', '5, 5', '')),
  fc.tuple(fc.constant('transfer-encoding'), fc.constantFrom('chunked', 'identity', ' chunked', 'chunked, identity', 'gzip, chunked', 'CHUNKED', 'xchunked')),
  fc.tuple(fc.constantFrom('connection', 'upgrade', 'expect', 'te', 'proxy-connection', 'keep-alive'), fc.constantFrom('close', 'upgrade', 'x-role', 'websocket', 'h2c', '100-continue', 'trailers', 'keep-alive, x-role')),
  fc.tuple(fc.constantFrom('authorization', 'cookie', 'x-weft-peer', 'x-envoy-original-path'), fc.constantFrom('Bearer eyJhbGciOiJub25lIn0.e30.', 'a=1', '/admin')),
  fc.tuple(fc.stringMatching(/^[!-~]{1,12}$/), fc.string({ maxLength: 12 })),
  fc.tuple(fc.constant('x-split'), fc.constantFrom('a\r\nx-role: admin', 'a\nx-role: admin', 'a\r\n admin', 'a\rb', 'a\u0000b')),
);

/**
 * Raw HTTP/1.1 request bytes as an app (or an attacker on the app's host) sends them; `id` goes in
 * an `x-fuzz-id` header so what the app receives can be traced to its input.
 */
export const rawHttp1Arb: fc.Arbitrary<(id: string) => FuzzInput> = fc
  .oneof(
    {
      // A request the mesh carries, with hostile paths and headers: the bypass classes.
      weight: 3,
      arbitrary: fc.record({
        method: fc.constantFrom('GET', 'GET', 'POST', 'HEAD', 'PUT'),
        absolute: fc.boolean(),
        host: fc.constantFrom('details.default:9080', 'DETAILS.default:9080'),
        path: carriedPathArb,
        version: fc.constant('HTTP/1.1'),
        headers: fc.array(mildHeaderArb, { maxLength: 5 }),
        eol: fc.constant('\r\n'),
        body: fc.constant(''),
        pipelined: fc.boolean(),
      }),
    },
    {
      // Anything: framing conflicts, broken lines, wrong versions, noise.
      weight: 2,
      arbitrary: fc.record({
        method: fc.constantFrom('GET', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'get', 'CONNECT', 'G\tET', 'TRACE'),
        absolute: fc.boolean(),
        host: fc.constantFrom(...HOSTS),
        path: pathArb,
        version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', ''),
        headers: fc.array(headerArb, { maxLength: 8 }),
        eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
        body: fc.oneof(fc.constant(''), fc.string({ maxLength: 24 }), fc.constant('5\r\nhello\r\n0\r\n\r\n'), fc.constant('0\r\n\r\nGET /admin HTTP/1.1\r\nhost: details.default:9080\r\n\r\n')),
        pipelined: fc.boolean(),
      }),
    },
  )
  .map((r) => (id: string) => {
    const target = r.absolute ? `http://${r.host}${r.path}` : r.path;
    const hostLine = r.absolute ? [] : [`host: ${r.host}`];
    const head = [`${r.method} ${target}${r.version === '' ? '' : ` ${r.version}`}`, `x-fuzz-id: ${id}`, ...hostLine, ...r.headers.map(([n, v]) => `${n}: ${v}`)].join(r.eol);
    const message = head + r.eol + r.eol + r.body;
    const follow = r.pipelined ? `GET /after HTTP/1.1\r\nx-fuzz-id: ${id}-after\r\nhost: details.default:9080\r\n\r\n` : '';
    return { bytes: Buffer.from(message + follow, 'latin1'), deniedIds: r.headers.some(claimsAdmin) ? [id] : [] };
  });

// === HTTP/2 ===

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** A frame: 9-byte header (length, type, flags, stream id) and payload; `lie` misstates the length. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer, lie = 0): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(Math.max(0, payload.length + lie) & 0xffffff, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A header block of literals without indexing and without Huffman (RFC 7541 §6.2.2): any bytes go. */
export function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    bytes.push(0x00, ...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v);
  }
  return Buffer.from(bytes);
}

const pseudoArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant(':method'), fc.constantFrom('GET', 'POST', 'CONNECT', 'get', '')),
  fc.tuple(fc.constant(':path'), fc.oneof(pathArb, fc.constantFrom('', '*', 'admin', 'http://details.default:9080/admin'))),
  fc.tuple(fc.constant(':authority'), fc.constantFrom(...HOSTS)),
  fc.tuple(fc.constant(':scheme'), fc.constantFrom('https', 'http', '')),
  fc.tuple(fc.constantFrom(':protocol', ':status', ':x'), fc.constantFrom('websocket', '200', 'a')),
);

/** One request's header list: usually a well-formed request with hostile extras, sometimes chaos. */
export const h2HeadersArb: fc.Arbitrary<[string, string][]> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('GET', 'POST', 'HEAD'),
        fc.oneof({ weight: 3, arbitrary: carriedPathArb }, { weight: 1, arbitrary: pathArb }),
        fc.oneof({ weight: 4, arbitrary: fc.constant('details.default:9080') }, { weight: 1, arbitrary: fc.option(fc.constantFrom(...HOSTS), { nil: undefined }) }),
        fc.oneof({ weight: 3, arbitrary: fc.array(mildHeaderArb, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.array(fc.oneof(headerArb, pseudoArb), { maxLength: 6 }) }),
      )
      .map(([method, path, authority, extra]): [string, string][] => [
        [':method', method],
        [':scheme', 'https'],
        [':path', path],
        ...(authority === undefined ? [] : ([[':authority', authority]] as [string, string][])),
        ...extra,
      ]),
  },
  { weight: 1, arbitrary: fc.array(fc.oneof(pseudoArb, headerArb), { maxLength: 8 }) },
);

/** A sequence of frames after the preface: requests on odd streams, and every frame type misused; each header block carries `x-fuzz-id`. */
export const h2FramesArb: fc.Arbitrary<(id: string) => FuzzInput> = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant('headers' as const), h2HeadersArb, fc.constantFrom(0x5, 0x5, 0x5, 0x4, 0x1, 0x0, 0x25), fc.nat(3)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('data' as const), fc.uint8Array({ maxLength: 32 }), fc.constantFrom(0x1, 0x0), fc.nat(3)) },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.constant('raw' as const),
          fc.record({ type: fc.constantFrom(0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xa, 0xff), flags: fc.nat(255), stream: fc.constantFrom(0, 1, 2, 3, 0x7fffffff), payload: fc.uint8Array({ maxLength: 24 }), lie: fc.constantFrom(0, 0, 1, -1, 1000) }),
        ),
      },
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((items) => (id: string): FuzzInput => {
    const out: Buffer[] = [frame(0x4, 0, 0, Buffer.alloc(0))];
    const deniedIds: string[] = [];
    const streams: number[] = [];
    let stream = 1;
    for (const item of items) {
      if (item[0] === 'headers') {
        const [, headers, flags, skip] = item;
        stream += 2 * skip;
        out.push(frame(0x1, flags, stream, headerBlock([...headers, ['x-fuzz-id', `${id}-${stream}`]])));
        streams.push(stream);
        if (headers.some(h2ClaimsAdmin)) deniedIds.push(`${id}-${stream}`);
        if ((flags & 0x4) === 0) out.push(frame(0x9, 0x4, stream, headerBlock([['x-late', 'admin']])));
        if ((flags & 0x1) === 0) out.push(frame(0x0, 0x1, stream, Buffer.from('body')));
        stream += 2;
      } else if (item[0] === 'data') {
        const [, payload, flags, back] = item;
        out.push(frame(0x0, flags, Math.max(1, stream - 2 * back), Buffer.from(payload)));
      } else {
        const r = item[1];
        out.push(frame(r.type, r.flags, r.stream, Buffer.from(r.payload), r.lie));
      }
    }
    return { bytes: Buffer.concat(out), deniedIds, streams };
  });

/**
 * True once every stream in `streams` was answered in `received` (server frames): a HEADERS or
 * DATA frame ending it, or RST_STREAM; or once the server sent GOAWAY.
 */
export function h2Answered(received: Buffer, streams: readonly number[]): boolean {
  const open = new Set(streams);
  let at = 0;
  // The server's SETTINGS comes first; frames are read whole only.
  while (at + 9 <= received.length) {
    const length = received.readUIntBE(at, 3);
    if (at + 9 + length > received.length) break;
    const type = received[at + 3]!;
    const flags = received[at + 4]!;
    const stream = received.readUInt32BE(at + 5) & 0x7fffffff;
    if (type === 0x7) return true;
    if (type === 0x3 || ((type === 0x0 || type === 0x1) && (flags & 0x1) !== 0)) open.delete(stream);
    at += 9 + length;
  }
  return open.size === 0;
}
