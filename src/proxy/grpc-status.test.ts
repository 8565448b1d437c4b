import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeGrpcMessage, grpcLocalReply, grpcStatusOfHttp, isGrpcContentType, MAX_GRPC_TIMEOUT_MS, parseGrpcTimeout } from './grpc-status.js';

test('parses grpc-timeout in each unit, rounding sub-millisecond values up', () => {
  const cases: [string, number | undefined][] = [
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3_000],
    ['250m', 250],
    ['1500u', 2],
    ['1u', 1],
    ['1n', 1],
    ['99999999m', 99_999_999],
    ['99999999H', MAX_GRPC_TIMEOUT_MS],
  ];
  for (const [value, ms] of cases) assert.equal(parseGrpcTimeout(value), ms, value);
});

test('fail/ignores malformed grpc-timeout values and 0 (no deadline, as Envoy reads them)', () => {
  for (const value of ['', 'S', '1', '0S', '00m', '123456789S', '-1S', '+1S', '1.5S', '1 S', ' 1S', '1s', '1h', '1x', 'ten', '1SS', '١S']) {
    assert.equal(parseGrpcTimeout(value), undefined, JSON.stringify(value));
  }
  assert.equal(parseGrpcTimeout(undefined), undefined);
  assert.equal(parseGrpcTimeout(['1S', '2S']), undefined);
});

test('property: any 1-8 digit value with a unit parses to a positive whole number of ms within the cap', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 99_999_999 }), fc.constantFrom('H', 'M', 'S', 'm', 'u', 'n'), (n, unit) => {
      const ms = parseGrpcTimeout(`${n}${unit}`);
      assert.ok(ms !== undefined && Number.isInteger(ms) && ms >= 1 && ms <= MAX_GRPC_TIMEOUT_MS);
    }),
  );
});

test('property: any string is either refused or a bounded deadline, never an exception', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 16 }), (s) => {
      const ms = parseGrpcTimeout(s);
      assert.ok(ms === undefined || (Number.isInteger(ms) && ms >= 1 && ms <= MAX_GRPC_TIMEOUT_MS));
      if (ms !== undefined) assert.match(s, /^[0-9]{1,8}[HMSmun]$/);
    }),
  );
});

test('maps local replies\' HTTP statuses to gRPC statuses as Envoy does', () => {
  const table: [number, number][] = [[400, 13], [401, 16], [403, 7], [404, 12], [429, 14], [502, 14], [503, 14], [504, 14], [500, 2], [418, 2]];
  for (const [http, grpc] of table) assert.equal(grpcStatusOfHttp(http), grpc, String(http));
});

test('recognises gRPC content types, and only those', () => {
  for (const t of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;charset=utf-8']) assert.ok(isGrpcContentType(t), t);
  for (const t of ['application/grpc-web', 'application/grpc-web+proto', 'application/grpcx', 'application/json', 'text/plain', '']) assert.ok(!isGrpcContentType(t), t);
  assert.ok(!isGrpcContentType(undefined));
  assert.ok(!isGrpcContentType(['application/grpc']));
});

test('percent-encodes grpc-message so any reason is a valid header value', () => {
  assert.equal(encodeGrpcMessage('RBAC: access denied'), 'RBAC: access denied');
  assert.equal(encodeGrpcMessage('100% ü\n'), '100%25 %C3%BC%0A');
  fc.assert(
    fc.property(fc.string(), (s) => {
      const e = encodeGrpcMessage(s);
      assert.match(e, /^[\x20-\x7e]*$/);
      assert.equal(decodeURIComponent(e), s.replace(/[\ud800-\udfff]/g, '\ufffd'));
    }),
  );
});

test('a local reply is HTTP 200, application/grpc, with the status and message', () => {
  assert.deepEqual(grpcLocalReply(7, 'RBAC: access denied'), { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'RBAC: access denied' });
});
