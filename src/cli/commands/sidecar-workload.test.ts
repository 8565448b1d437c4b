import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { appHealthFlag, appHealthSettings, appProtocolFlag, localityFlag, portFlag, workloadPorts } from './sidecar-workload.js';
import { UsageError } from '../output.js';

const argError = (pattern: RegExp) => (err: unknown) => err instanceof InvalidArgumentError && pattern.test(err.message) && err.message.length < 400;
const usage = (pattern: RegExp) => (err: unknown) => err instanceof UsageError && pattern.test(err.message);

describe('sidecar workload flags', () => {
  test('--port NAME:PORT[:TARGET_PORT] collects', () => {
    assert.deepEqual(portFlag('grpc-api:9090:50051', portFlag('http:9080')), [{ name: 'http', port: 9080 }, { name: 'grpc-api', port: 9090, targetPort: 50051 }]);
  });

  test('property: --port accepts exactly NAME:PORT[:TARGET] with a DNS-label name and ports in range', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab-Z0:9.'.split('')), maxLength: 20 }), (text) => {
        let parsed;
        try {
          parsed = portFlag(text);
        } catch (err) {
          assert.ok(err instanceof InvalidArgumentError);
          return;
        }
        const [p] = parsed;
        assert.match(p!.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        assert.ok(p!.port >= 1 && p!.port <= 65535);
        assert.equal([p!.name, p!.port, ...(p!.targetPort === undefined ? [] : [p!.targetPort])].join(':'), text.replace(/:0+(\d)/g, ':$1'));
      }),
      { numRuns: 3_000 },
    );
  });

  const badPorts: [string, RegExp][] = [
    ['http', /"http" is not NAME:PORT\[:TARGET_PORT\]/],
    ['a:b:c:d', /is not NAME:PORT/],
    ['HTTP:80', /port name "HTTP" is not a DNS label/],
    [':80', /port name "" is not a DNS label/],
    ['http:0', /port "0" is not a port from 1 to 65535/],
    ['http:65536', /port "65536" is not a port/],
    ['http:80:0', /target port "0" is not a port/],
    ['http:8o', /port "8o" is not a port/],
  ];
  for (const [value, message] of badPorts) test(`fail/--port ${value}`, () => assert.throws(() => portFlag(value), argError(message)));

  test('fail/--port past 64 ports', () => {
    let ports = portFlag('p0:1');
    for (let i = 1; i < 64; i++) ports = portFlag(`p${i}:${i + 1}`, ports);
    assert.throws(() => portFlag('p64:65', ports), argError(/at most 64 ports/));
  });

  test('--app-protocol NAME=PROTO', () => {
    assert.deepEqual(appProtocolFlag('api=grpc', appProtocolFlag('web=kubernetes.io/h2c')), { web: 'kubernetes.io/h2c', api: 'grpc' });
    assert.throws(() => appProtocolFlag('web'), argError(/"web" is not NAME=PROTOCOL/));
    assert.throws(() => appProtocolFlag('=http'), argError(/is not NAME=PROTOCOL/));
    assert.throws(() => appProtocolFlag('web=', {}), argError(/is not NAME=PROTOCOL/));
    assert.throws(() => appProtocolFlag('web=http', { web: 'grpc' }), argError(/the appProtocol of port "web" is given twice/));
    assert.throws(() => appProtocolFlag('__proto__=http', { ['__proto__']: 'x' }), argError(/given twice/));
  });

  test('--locality', () => {
    assert.equal(localityFlag('us-east-1/us-east-1a/rack-1'), 'us-east-1/us-east-1a/rack-1');
    assert.throws(() => localityFlag('a/b/c/d'), argError(/"a\/b\/c\/d" is not region\/zone\/subzone: it has 4 parts/));
    assert.throws(() => localityFlag('us east'), argError(/its region "us east" is not valid/));
  });

  test('--app-health', () => {
    assert.deepEqual(appHealthFlag('tcp'), { kind: 'tcp' });
    assert.deepEqual(appHealthFlag('none'), { kind: 'none' });
    assert.deepEqual(appHealthFlag('http:/healthz?full=1'), { kind: 'http', path: '/healthz?full=1' });
    for (const bad of ['http', 'http:', 'http:healthz', 'http:/a b', `http:/${'a'.repeat(2048)}`, 'grpc', 'TCP', 'http:/\u0000']) {
      assert.throws(() => appHealthFlag(bad), argError(/is not http:\/PATH, tcp or none|the path of an HTTP check starts with "\/"/), bad);
    }
  });

  test('the ports a workload declares: --service-port is the shorthand http:PORT, --app-protocol names a declared port', () => {
    assert.deepEqual(workloadPorts({}, 8080), [{ name: 'http', port: 8080 }]);
    assert.deepEqual(workloadPorts({ servicePort: 9080 }, 8080), [{ name: 'http', port: 9080 }]);
    assert.deepEqual(workloadPorts({ port: portFlag('api:9090:50051', portFlag('web:80')), appProtocol: { api: 'grpc' } }, 8080), [{ name: 'web', port: 80 }, { name: 'api', port: 9090, targetPort: 50051, appProtocol: 'grpc' }]);
  });

  const badWorkloads: [Parameters<typeof workloadPorts>[0], RegExp][] = [
    [{ port: portFlag('http:80'), servicePort: 80 }, /give --port NAME:PORT\[:TARGET_PORT\] or --service-port PORT, not both/],
    [{ port: portFlag('http:81', portFlag('http:80')) }, /^--port http:81: the name "http" is given twice$/],
    [{ port: portFlag('grpc:80', portFlag('http:80')) }, /^--port grpc:80: port 80 is also --port http:80$/],
    [{ port: portFlag('web:80'), appProtocol: { api: 'grpc' } }, /^--app-protocol api=grpc: no --port is named "api"$/],
    [{ port: portFlag('udp-dns:53') }, /^--port udp-dns:53: port "udp-dns" \(53\) is UDP by its name/],
    [{ port: portFlag('web:80'), appProtocol: { web: 'udp' } }, /^--app-protocol web=udp: .* is UDP by its appProtocol/],
    [{ port: portFlag('web:80'), appProtocol: { web: 'a%b' } }, /^--app-protocol web=a%b: "a%b" is not a protocol name/],
  ];
  for (const [flags, message] of badWorkloads) test(`fail/${message.source.slice(1, 40)}`, () => assert.throws(() => workloadPorts(flags, 8080), usage(message)));

  test('health settings default to Kubernetes readiness probes; bounds name their flag', () => {
    assert.deepEqual(appHealthSettings({}), { check: { kind: 'tcp' }, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 3 });
    assert.throws(() => appHealthSettings({ appHealthInterval: 500 }), usage(/--app-health-interval must be at least 1s/));
    assert.throws(() => appHealthSettings({ appHealthInterval: 7_200_000 }), usage(/--app-health-interval must be at most 1h/));
    assert.throws(() => appHealthSettings({ appHealthTimeout: 20_000 }), usage(/--app-health-timeout \(20000 ms\) must not be longer than --app-health-interval \(10000 ms\)/));
  });
});
