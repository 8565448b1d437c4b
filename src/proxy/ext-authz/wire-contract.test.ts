// Contract tests of the gRPC wire format against Envoy's v3 API field list (docs: the reference's
// §6.3), independent of weft's own .proto: requests are encoded with it and walked field by
// field here; responses are written byte by byte as OPA's Envoy plugin sends them and decoded
// with it. A wrong field number in proto/envoy fails here, not against a real OPA.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProvider, grpcCheckRequest, type GrpcProvider } from '../../policy/index.js';
import { AuthorizationService, readCheckResponse } from './grpc-client.js';

type Fields = Map<number, (Buffer | number)[]>;

function varint(buf: Buffer, at: number): [number, number] {
  let n = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at++]!;
    n += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [n, at];
    shift += 7;
  }
}

/** Splits a message into its fields by number: varints as numbers, length-delimited as bytes. */
function fields(buf: Buffer): Fields {
  const out: Fields = new Map();
  let at = 0;
  while (at < buf.length) {
    const [tag, next] = varint(buf, at);
    at = next;
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    let value: Buffer | number;
    if (wire === 0) [value, at] = varint(buf, at);
    else if (wire === 2) {
      const [len, start] = varint(buf, at);
      value = buf.subarray(start, start + len);
      at = start + len;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

const one = (f: Fields, no: number): Buffer => f.get(no)![0] as Buffer;
const str = (f: Fields, no: number): string => one(f, no).toString('utf8');

function tag(no: number, wire: number): Buffer {
  return Buffer.from([no * 8 + wire]);
}
function enc(no: number, v: number | string | Buffer): Buffer {
  if (typeof v === 'number') return Buffer.concat([tag(no, 0), encVarint(v)]);
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([tag(no, 2), encVarint(b.length), b]);
}
function encVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

const provider = compileProvider({ name: 'opa', envoyExtAuthzGrpc: { service: '127.0.0.1', port: 9191, includeRequestBodyInCheck: { maxRequestBytes: 64 } } }) as GrpcProvider;

test('ok/CheckRequest: every field weft sends sits at the number Envoy\'s API gives it', () => {
  const request = grpcCheckRequest(provider, {
    method: 'POST',
    target: '/a/b?c=1',
    authority: 'details.default:9080',
    fields: { 'x-request-id': 'r-1', 'x-user': ['a', 'b'] },
    protocol: 'HTTP/2',
    sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/web',
    sourceAddress: '10.0.0.5',
    sourcePort: 40000,
    destinationAddress: '10.0.0.9',
    destinationPort: 9080,
    sni: 'outbound_.9080_._.details',
    body: { bytes: Buffer.from('hello'), partial: false },
    size: 5,
    timeMs: 1_700_000_000_123,
  });
  const wire = AuthorizationService.service.Check!.requestSerialize(request);
  const attributes = fields(one(fields(wire), 1)); // CheckRequest.attributes = 1
  const source = fields(one(attributes, 1)); // AttributeContext.source = 1
  assert.equal(str(source, 4), 'spiffe://cluster.local/ns/default/sa/web'); // Peer.principal = 4
  const socket = fields(one(fields(one(source, 1)), 1)); // Peer.address = 1, Address.socket_address = 1
  assert.equal(str(socket, 2), '10.0.0.5'); // SocketAddress.address = 2
  assert.equal(socket.get(3)![0], 40000); // SocketAddress.port_value = 3
  const destination = fields(one(attributes, 2)); // AttributeContext.destination = 2
  assert.equal(fields(one(fields(one(destination, 1)), 1)).get(3)![0], 9080);
  assert.equal(str(fields(one(attributes, 12)), 1), 'outbound_.9080_._.details'); // tls_session = 12, sni = 1
  const req = fields(one(attributes, 4)); // AttributeContext.request = 4
  const time = fields(one(req, 1)); // Request.time = 1 (Timestamp seconds = 1, nanos = 2)
  assert.deepEqual([time.get(1)![0], time.get(2)![0]], [1_700_000_000, 123_000_000]);
  const http = fields(one(req, 2)); // Request.http = 2
  assert.equal(str(http, 1), 'r-1'); // id = 1
  assert.equal(str(http, 2), 'POST'); // method = 2
  assert.equal(str(http, 4), '/a/b?c=1'); // path = 4
  assert.equal(str(http, 5), 'details.default:9080'); // host = 5
  assert.equal(str(http, 6), 'http'); // scheme = 6
  assert.equal(http.get(9)![0], 5); // size = 9
  assert.equal(str(http, 10), 'HTTP/2'); // protocol = 10
  assert.equal(str(http, 11), 'hello'); // body = 11
  const headers = new Map((http.get(3) as Buffer[]).map((e) => { const f = fields(e); return [str(f, 1), str(f, 2)]; })); // headers = 3: map entries key 1, value 2
  assert.equal(headers.get('x-user'), 'a,b');
  assert.equal(headers.get(':method'), 'POST');
  assert.equal(headers.get(':authority'), 'details.default:9080');
  assert.equal(headers.get('x-envoy-auth-partial-body'), 'false');
});

test('ok/packAsBytes sends the body as raw_body (12), not body (11)', () => {
  const p = compileProvider({ name: 'opa', envoyExtAuthzGrpc: { service: '127.0.0.1', port: 1, includeRequestBodyInCheck: { maxRequestBytes: 64, packAsBytes: true } } }) as GrpcProvider;
  const request = grpcCheckRequest(p, { method: 'PUT', target: '/', authority: 'a', fields: {}, protocol: 'HTTP/2', body: { bytes: Buffer.from([0, 255, 1]), partial: false }, size: 3 });
  const http = fields(one(fields(one(fields(one(fields(AuthorizationService.service.Check!.requestSerialize(request)), 1)), 4)), 2));
  assert.deepEqual(one(http, 12), Buffer.from([0, 255, 1]));
  assert.equal(http.get(11), undefined);
});

const header = (key: string, value: string): Buffer => enc(1, Buffer.concat([enc(1, key), enc(2, value)])); // HeaderValueOption.header = 1
const ttl = (text: string): Buffer => enc(4, enc(1, Buffer.concat([enc(1, 'x-weft-authz-ttl'), enc(2, enc(3, text))]))); // dynamic_metadata = 4: Struct.fields = 1, Value.string_value = 3

test('ok/a denial as OPA\'s plugin writes it decodes to its status, headers, body and TTL', () => {
  const wire = Buffer.concat([
    enc(1, enc(1, 7)), // status = 1: google.rpc.Status.code = 1 (PERMISSION_DENIED)
    enc(2, Buffer.concat([enc(1, enc(1, 451)), enc(2, header('x-reason', 'legal')), enc(3, 'unavailable')])), // denied_response = 2
    ttl('45s'),
  ]);
  const answer = readCheckResponse(AuthorizationService.service.Check!.responseDeserialize(wire) as never, []);
  assert.deepEqual(answer, { kind: 'deny', status: 451, headers: [['x-reason', 'legal']], body: 'unavailable', ttlMs: 45_000 });
});

test('ok/a denial without denied_response is 403, as Envoy answers it', () => {
  const answer = readCheckResponse(AuthorizationService.service.Check!.responseDeserialize(enc(1, enc(1, 7))) as never, []);
  assert.deepEqual(answer, { kind: 'deny', status: 403, headers: [], body: '' });
});

test('ok/an allowance as OPA\'s plugin writes it: upstream headers (2), removals (5), response headers (6)', () => {
  const append = Buffer.concat([header('x-tag', 'more'), enc(2, enc(1, 1))]); // append = 2: BoolValue.value = 1
  const wire = Buffer.concat([
    enc(1, Buffer.alloc(0)), // status with code 0 (OK)
    enc(3, Buffer.concat([enc(2, header('x-user', 'alice')), enc(2, append), enc(5, 'x-secret'), enc(6, header('x-note', 'hi'))])), // ok_response = 3
  ]);
  const answer = readCheckResponse(AuthorizationService.service.Check!.responseDeserialize(wire) as never, []);
  assert.deepEqual(answer, {
    kind: 'allow',
    upstream: [{ name: 'x-user', value: 'alice', append: false }, { name: 'x-tag', value: 'more', append: true }],
    remove: ['x-secret'],
    downstream: [['x-note', 'hi']],
  });
});

test('fail/an allowance setting a header the sidecar owns or that frames the request is refused whole', () => {
  for (const name of ['x-forwarded-client-cert', 'host', ':authority', 'content-length', 'x-weft-peer', 'bad name']) {
    const wire = Buffer.concat([enc(3, enc(2, header(name, 'forged')))]);
    assert.throws(() => readCheckResponse(AuthorizationService.service.Check!.responseDeserialize(wire) as never, []), /ok_response\.headers/, name);
  }
});
