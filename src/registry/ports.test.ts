import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isWeftError } from '../lib/errors.js';
import { normalizeLocality } from './locality.js';
import { SERVICE_PROTOCOLS, selectProtocol, validatePorts } from './ports.js';
import { ServiceRegistry, type Registration } from './service-registry.js';

const TD = 'cluster.local';
const ID = `spiffe://${TD}/ns/default/sa/details`;
const reg = (over: Partial<Registration> = {}): Registration => ({
  namespace: 'default',
  services: ['details'],
  ports: [{ name: 'http', port: 9080, protocol: '' }],
  labels: { app: 'details' },
  address: '127.0.0.1',
  inboundPort: 15006,
  ...over,
});
const refused = (code: string, pattern: RegExp) => (err: Error) => isWeftError(err, code) && pattern.test(err.message) && err.message.length < 400;

describe('protocol selection (Istio: appProtocol, else the name prefix)', () => {
  const cases: [string, number, string, string][] = [
    ['http', 80, '', 'HTTP'],
    ['http-web', 80, '', 'HTTP'],
    ['HTTP2-x', 80, '', 'HTTP2'],
    ['https', 443, '', 'HTTPS'],
    ['grpc-api', 9000, '', 'GRPC'],
    ['grpc-web', 9000, '', 'GRPC-WEB'],
    ['grpc-web-ui', 9000, '', 'GRPC-WEB'],
    ['tcp-db', 5432, '', 'TCP'],
    ['tls', 443, '', 'TLS'],
    ['mongo', 27017, '', 'MONGO'],
    ['mysql-main', 3306, '', 'MYSQL'],
    ['redis', 6379, '', 'REDIS'],
    ['web', 8080, '', ''],
    ['httpx', 8080, '', ''],
    ['', 8080, '', ''],
    ['', 3306, '', 'TCP'],
    ['db', 22, '', 'TCP'],
    ['web', 8080, 'http', 'HTTP'],
    ['http', 8080, 'grpc', 'GRPC'],
    ['http', 8080, 'kubernetes.io/h2c', 'HTTP2'],
    ['web', 8080, 'kubernetes.io/ws', 'HTTP'],
    ['web', 8080, 'kubernetes.io/wss', 'HTTPS'],
    ['tcp', 8080, 'example.com/custom', ''],
  ];
  for (const [name, port, app, expected] of cases) {
    test(`${name || '(unnamed)'}:${port}${app ? ` appProtocol=${app}` : ''} is ${expected || 'unnamed'}`, () => assert.equal(selectProtocol(name, port, app), expected));
  }

  test('fail/udp by name or appProtocol is refused', () => {
    assert.throws(() => selectProtocol('udp-dns', 53), refused('WEFT_REGISTRATION_INVALID', /port "udp-dns" \(53\) is UDP by its name: the mesh carries TCP only/));
    assert.throws(() => selectProtocol('dns', 53, 'UDP'), refused('WEFT_REGISTRATION_INVALID', /is UDP by its appProtocol/));
  });

  test('property: the selection is a known protocol or unnamed, and never throws but for UDP', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 65535 }), fc.string({ maxLength: 40 }), (name, port, app) => {
        let p: string;
        try {
          p = selectProtocol(name, port, app);
        } catch (err) {
          assert.ok(isWeftError(err, 'WEFT_REGISTRATION_INVALID'));
          assert.match(`${app || name}`.toLowerCase(), /^udp(-|$)/);
          return;
        }
        assert.ok(p === '' || (SERVICE_PROTOCOLS as readonly string[]).includes(p));
        if (app === '' && /^(http|tcp|tls|grpc)(-[a-z0-9]+)?$/.test(name) && !name.startsWith('grpc-web')) assert.equal(p, name.split('-')[0]!.toUpperCase());
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('port validation', () => {
  test('settles each protocol and keeps target port and appProtocol', () => {
    assert.deepEqual(
      validatePorts([
        { name: 'http-web', port: 80, protocol: '', targetPort: 8080 },
        { name: 'api', port: 9000, protocol: '', appProtocol: 'grpc' },
        { name: 'tcp-db', port: 5432, protocol: 'TCP' },
      ]),
      [
        { name: 'http-web', port: 80, protocol: 'HTTP', targetPort: 8080 },
        { name: 'api', port: 9000, protocol: 'GRPC', appProtocol: 'grpc' },
        { name: 'tcp-db', port: 5432, protocol: 'TCP' },
      ],
    );
  });

  test('an unnamed single port may state its protocol (an older sidecar always did)', () => {
    assert.deepEqual(validatePorts([{ name: '', port: 80, protocol: 'TCP' }]), [{ name: '', port: 80, protocol: 'TCP' }]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not a list', { name: 'http' }, /ports: a list of ports is required/],
    ['65 ports', Array.from({ length: 65 }, (_, i) => ({ name: `p${i}`, port: i + 1 })), /65 ports; a workload has at most 64/],
    ['a port that is not an object', [null], /ports\[0\]: a port is an object/],
    ['uppercase name', [{ name: 'HTTP', port: 1 }], /ports\[0\]\.name: "HTTP" is not empty or a DNS label/],
    ['huge name', [{ name: 'h'.repeat(100_000), port: 1 }], /ports\[0\]\.name: "h{80}…" is not empty or a DNS label/],
    ['port 0', [{ name: 'http', port: 0 }], /ports\[0\]\.port: "0" is not a port number/],
    ['port 65536', [{ name: 'http', port: 65536 }], /is not a port number/],
    ['target port 70000', [{ name: 'http', port: 80, targetPort: 70000 }], /ports\[0\]\.targetPort: "70000" is not a port number/],
    ['duplicate name', [{ name: 'http', port: 80 }, { name: 'http', port: 81 }], /ports\[1\]\.name: "http" is also the name of ports\[0\]/],
    ['duplicate number', [{ name: 'http', port: 80 }, { name: 'grpc', port: 80 }], /ports\[1\]\.port: 80 is also the port of ports\[0\]/],
    ['unnamed among several', [{ name: 'http', port: 80 }, { name: '', port: 81 }], /every port of a workload with several ports needs a name/],
    ['unknown stated protocol', [{ name: '', port: 80, protocol: 'SMTP' }], /ports\[0\]\.protocol: "SMTP" is not one of HTTP, HTTP2/],
    ['stated protocol against the name', [{ name: 'http', port: 80, protocol: 'TCP' }], /ports\[0\]\.protocol: TCP contradicts the name "http", which selects HTTP/],
    ['stated protocol against appProtocol', [{ name: 'web', port: 80, protocol: 'HTTP', appProtocol: 'tcp' }], /contradicts the appProtocol "tcp", which selects TCP/],
    ['bad appProtocol', [{ name: 'web', port: 80, appProtocol: 'a b' }], /ports\[0\]\.appProtocol: "a b" is not a protocol name/],
    ['udp', [{ name: 'udp', port: 53 }], /ports\[0\]: port "udp" \(53\) is UDP/],
  ];
  for (const [name, ports, message] of bad) {
    test(`fail/${name}`, () => assert.throws(() => validatePorts(ports), refused('WEFT_REGISTRATION_INVALID', message)));
  }
});

describe('locality', () => {
  test('is padded to three parts; empty stays empty', () => {
    assert.equal(normalizeLocality(''), '');
    assert.equal(normalizeLocality('//'), '');
    assert.equal(normalizeLocality('us-east-1'), 'us-east-1//');
    assert.equal(normalizeLocality('us-east-1/us-east-1a'), 'us-east-1/us-east-1a/');
    assert.equal(normalizeLocality('eu/eu-west-3b/rack_7'), 'eu/eu-west-3b/rack_7');
    assert.equal(normalizeLocality('eu//rack'), 'eu//rack');
  });
  const bad: [unknown, RegExp][] = [
    [7, /locality: a locality is a string/],
    ['a/b/c/d', /it has 4 parts; a locality is region\/zone\/subzone/],
    ['x'.repeat(300), /it is 300 characters long; at most 191/],
    ['us east', /its region "us east" is not valid/],
    ['eu/-zone', /its zone "-zone" is not valid/],
    [`eu/z/${'s'.repeat(64)}`, /its subzone "s+" is not valid: it is 64 characters long; at most 63/],
    ['/zone/', /a zone or subzone needs its region/],
    ['eu/z\u0000', /its zone .* is not valid/],
  ];
  for (const [locality, message] of bad) {
    test(`fail/${JSON.stringify(String(locality)).slice(0, 30)}`, () => assert.throws(() => normalizeLocality(locality), refused('WEFT_REGISTRATION_INVALID', message)));
  }
  test('property: whatever is accepted has at most three label-value parts and round-trips', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab-_./ Z9\u00e9'.split('')), maxLength: 60 }), (s) => {
        let n: string;
        try {
          n = normalizeLocality(s);
        } catch (err) {
          assert.ok(isWeftError(err, 'WEFT_REGISTRATION_INVALID'));
          return;
        }
        if (n === '') return;
        const parts = n.split('/');
        assert.equal(parts.length, 3);
        for (const p of parts) assert.match(p, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
        assert.equal(normalizeLocality(n), n);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('the registry: ports, locality and health per service', () => {
  test('endpoints carry locality and health; ports merge per service', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    r.register(reg({ inboundPort: 1, locality: 'eu/eu-a', ports: [{ name: 'http', port: 9080, protocol: '', targetPort: 8080 }, { name: 'grpc', port: 9090, protocol: '' }] }), ID);
    r.register(reg({ inboundPort: 2, healthy: false, ports: [{ name: 'http', port: 9080, protocol: '', targetPort: 8081 }] }), ID);
    const [svc] = r.services();
    assert.deepEqual(svc?.ports, [{ name: 'http', port: 9080, protocol: 'HTTP' }, { name: 'grpc', port: 9090, protocol: 'GRPC' }]);
    assert.deepEqual(svc?.endpoints.map((e) => [e.port, e.locality, e.healthy]).sort(), [[1, 'eu/eu-a/', true], [2, '', false]]);
  });

  test('a keep-alive carrying a health change bumps the version; one without does not', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    const w = r.register(reg(), ID);
    const v = r.version;
    r.keepAlive(w.id, ID);
    r.keepAlive(w.id, ID, true);
    assert.equal(r.version, v, 'no change, no push');
    r.keepAlive(w.id, ID, false);
    assert.equal(r.version, v + 1);
    assert.equal(r.services()[0]?.endpoints[0]?.healthy, false);
    r.keepAlive(w.id, ID, false);
    assert.equal(r.version, v + 1);
    r.keepAlive(w.id, ID, true);
    assert.equal(r.services()[0]?.endpoints[0]?.healthy, true);
  });

  const conflicts: [string, Registration['ports'], RegExp][] = [
    ['same number, other protocol', [{ name: 'tcp', port: 9080, protocol: '' }], /port 9080 of details\.default is HTTP for its other workloads, not TCP: one service has one protocol per port/],
    ['same number, other name', [{ name: 'http-alt', port: 9080, protocol: '' }], /port 9080 of details\.default is named "http" by its other workloads, not "http-alt"/],
  ];
  for (const [name, ports, message] of conflicts) {
    test(`fail/contradictory ports: ${name}`, () => {
      const r = new ServiceRegistry({ trustDomain: TD });
      r.register(reg({ inboundPort: 1 }), ID);
      const v = r.version;
      assert.throws(() => r.register(reg({ inboundPort: 2, ports }), ID), refused('WEFT_REGISTRATION_CONFLICT', message));
      assert.equal(r.version, v, 'nothing applied');
      assert.equal(r.workloads().length, 1);
    });
  }

  test('replicas may each declare their own number under one name (each defaults to its app port as http)', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    r.register(reg({ inboundPort: 1, ports: [{ name: 'http', port: 8081, protocol: '' }] }), ID);
    r.register(reg({ inboundPort: 2, ports: [{ name: 'http', port: 8082, protocol: '' }] }), ID);
    assert.deepEqual(r.services()[0]?.ports.map((p) => `${p.name}:${p.port}`), ['http:8081', 'http:8082']);
  });

  test('a workload replacing its own registration may change its ports; other ports of the service may be added', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    r.register(reg({ inboundPort: 1 }), ID);
    r.register(reg({ inboundPort: 1, ports: [{ name: 'tcp', port: 9080, protocol: '' }] }), ID);
    r.register(reg({ inboundPort: 2, ports: [{ name: 'tcp', port: 9080, protocol: '' }, { name: 'grpc', port: 9090, protocol: '' }] }), ID);
    assert.deepEqual(r.services()[0]?.ports.map((p) => `${p.name}:${p.port}:${p.protocol}`), ['tcp:9080:TCP', 'grpc:9090:GRPC']);
  });

  test('fail/bad locality and health fields', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    assert.throws(() => r.register(reg({ locality: 'a/b/c/d' }), ID), refused('WEFT_REGISTRATION_INVALID', /^locality: it has 4 parts/));
    assert.throws(() => r.register(reg({ healthy: 'yes' as unknown as boolean }), ID), refused('WEFT_REGISTRATION_INVALID', /healthy: true or false/));
  });

  test('restore() drops saved workloads whose ports contradict those restored before them', () => {
    const a = new ServiceRegistry({ trustDomain: TD });
    const b = new ServiceRegistry({ trustDomain: TD });
    const one = a.register(reg({ inboundPort: 1 }), ID);
    const two = b.register(reg({ inboundPort: 2, ports: [{ name: 'tcp', port: 9080, protocol: '' }] }), ID);
    const r = new ServiceRegistry({ trustDomain: TD });
    assert.equal(r.restore([one, two]), 1);
  });
});
