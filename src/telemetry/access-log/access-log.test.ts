import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redactor } from '../redact.js';
import { AccessLogFormatError, AccessLogWriter, compileAccessLogFormat, compileTextFormat, formatStartTime, ISTIO_JSON_FORMAT, type AccessLogRecord } from './index.js';

const record: AccessLogRecord = {
  startTime: Date.UTC(2026, 11, 7, 22, 5, 15, 123),
  protocol: 'HTTP/1.1',
  requestHeaders: { ':method': 'GET', ':path': '/reviews/0?x=1', ':authority': 'reviews.default:9080', 'user-agent': 'curl/8.5.0', 'x-request-id': 'd2b5d1d2-1d8c-4a1e-9f43-2f6c0d7e8a11', 'x-forwarded-for': '10.0.0.1' },
  responseHeaders: { 'x-envoy-upstream-service-time': '5' },
  responseCode: 200,
  responseCodeDetails: 'via_upstream',
  bytesReceived: 0,
  bytesSent: 295,
  durationMs: 6.7,
  upstreamHost: '127.0.0.1:41123',
  upstreamCluster: 'outbound|9080||reviews.default.svc.cluster.local',
  upstreamLocalAddress: '127.0.0.1:50122',
  downstreamLocalAddress: '127.0.0.1:15001',
  downstreamRemoteAddress: '127.0.0.1:50110',
  routeName: 'default',
};

describe('Istio default formats', () => {
  test('TEXT: every field of Istio\'s default line, unset ones as -', () => {
    const line = compileAccessLogFormat({})(record);
    assert.equal(
      line,
      '[2026-12-07T22:05:15.123Z] "GET /reviews/0?x=1 HTTP/1.1" 200 - via_upstream - "-" 0 295 6 5 "10.0.0.1" "curl/8.5.0" "d2b5d1d2-1d8c-4a1e-9f43-2f6c0d7e8a11" "reviews.default:9080" "127.0.0.1:41123" outbound|9080||reviews.default.svc.cluster.local 127.0.0.1:50122 127.0.0.1:15001 127.0.0.1:50110 - default',
    );
  });

  test('TEXT: a TCP connection logs "- - -" 0 and the original path wins over :path', () => {
    assert.match(compileAccessLogFormat({})({ startTime: 0, bytesReceived: 12, bytesSent: 40, responseFlags: 'UF' }), /^\[1970-01-01T00:00:00\.000Z\] "- - -" 0 UF - - "-" 12 40 - - /);
    assert.match(compileTextFormat('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%')({ startTime: 0, requestHeaders: { ':path': '/new', 'x-envoy-original-path': '/old' } }), /^\/old$/);
  });

  test('JSON: Istio\'s keys, numbers typed, unset values null', () => {
    const o = JSON.parse(compileAccessLogFormat({ accessLogEncoding: 'JSON' })(record)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o), Object.keys(ISTIO_JSON_FORMAT));
    assert.equal(o.start_time, '2026-12-07T22:05:15.123Z');
    assert.equal(o.method, 'GET');
    assert.equal(o.path, '/reviews/0?x=1');
    assert.equal(o.response_code, 200);
    assert.equal(o.bytes_sent, 295);
    assert.equal(o.duration, 6);
    assert.equal(o.upstream_service_time, '5');
    assert.equal(o.upstream_cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    assert.equal(o.requested_server_name, null);
    assert.equal(o.response_flags, '-');
  });

  test('JSON: a custom object of formats, templates kept as strings', () => {
    const o = JSON.parse(compileAccessLogFormat({ accessLogEncoding: 'JSON', accessLogFormat: '{"code":"%RESPONSE_CODE%","line":"%REQ(:METHOD)% %REQ(:PATH)%"}' })(record)) as Record<string, unknown>;
    assert.deepEqual(o, { code: 200, line: 'GET /reviews/0?x=1' });
  });

  test('JSON: a format that is not an object of strings is refused with the typed error', () => {
    for (const f of ['[1]', '{"a":1}', 'not json', '{"a":"%NOPE%"}']) assert.throws(() => compileAccessLogFormat({ accessLogEncoding: 'JSON', accessLogFormat: f }), AccessLogFormatError);
  });
});

describe('values', () => {
  test('a refusal\'s details (policy, rule, condition) appear as given', () => {
    const line = compileTextFormat('%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%')({ startTime: 0, responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[0]]' });
    assert.equal(line, '403 - rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[0]]');
  });

  test(':N cuts a value; control characters are escaped so a value cannot start a line', () => {
    const f = compileTextFormat('%REQ(:PATH):4% %REQ(X-A)%');
    assert.equal(f({ startTime: 0, requestHeaders: { ':path': '/abcdef', 'x-a': 'a\nb\r' } }), '/abc a\\x0ab\\x0d');
  });

  test('repeated headers are joined with commas; an empty value prints -', () => {
    assert.equal(compileTextFormat('%REQ(X-A)% %REQ(X-B)%')({ startTime: 0, requestHeaders: { 'x-a': ['1', '2'], 'x-b': '' } }), '1,2 -');
  });

  test('tokens and secrets never appear: request values pass the redaction step', () => {
    const f = compileTextFormat('%REQ(:PATH)% %REQ(AUTHORIZATION)% %REQ(X-TOKEN)%', new Redactor({ headers: ['x-token'] }));
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const line = f({ startTime: 0, requestHeaders: { ':path': '/a?access_token=s3cr3t&b=1', authorization: `Bearer ${jwt}`, 'x-token': jwt } });
    assert.ok(!line.includes('s3cr3t') && !line.includes(jwt), line);
    assert.match(line, /access_token=\[redacted\]&b=1/);
  });

  test('START_TIME formats', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5, 67);
    assert.equal(formatStartTime(t, '%Y/%m/%d %H:%M:%S.%3f %z %j %s %F %T %% %6f'), '2026/01/02 03:04:05.067 +0000 002 1767323045 2026-01-02 03:04:05 % 067000');
  });
});

describe('writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-access-log-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('lines are appended to a file created 0640; an existing looser file is tightened', async () => {
    const path = join(dir, 'access.log');
    const w = new AccessLogWriter(path);
    assert.equal(w.write('one'), true);
    w.write('two');
    await w.close();
    assert.equal(readFileSync(path, 'utf8'), 'one\ntwo\n');
    assert.equal(statSync(path).mode & 0o777, 0o640);
    const loose = join(dir, 'loose.log');
    writeFileSync(loose, '');
    chmodSync(loose, 0o666);
    await new AccessLogWriter(loose, { mode: 0o600 }).close();
    assert.equal(statSync(loose).mode & 0o777, 0o600);
  });

  test('a symbolic link is never followed', () => {
    const link = join(dir, 'link.log');
    symlinkSync(join(dir, 'target.log'), link);
    assert.throws(() => new AccessLogWriter(link), /ELOOP|symbolic/);
  });

  test('past the buffer bound lines are dropped and counted, never queued without end', async () => {
    const w = new AccessLogWriter(join(dir, 'small.log'), { maxBufferBytes: 100 });
    let accepted = 0;
    // All written in one tick: the file cannot drain in between, so the bound decides.
    for (let i = 0; i < 1000; i++) if (w.write(`line ${i} ${'x'.repeat(20)}`)) accepted++;
    assert.ok(accepted < 20, `accepted ${accepted}`);
    assert.equal(w.stats.linesDropped, 1000 - accepted);
    assert.ok(w.stats.bufferedBytes <= 100);
    await w.close();
    assert.equal(readFileSync(join(dir, 'small.log'), 'utf8').split('\n').length - 1, accepted);
  });

  test('a 1 MB line is cut to the line bound', async () => {
    const path = join(dir, 'big.log');
    const w = new AccessLogWriter(path);
    w.write('y'.repeat(1_000_000));
    await w.close();
    const text = readFileSync(path, 'utf8');
    assert.ok(text.length < 70_000 && text.endsWith('...[truncated]\n'));
  });
});
