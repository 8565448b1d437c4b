#!/usr/bin/env node
// The demo application `weft up` runs: one small HTTP service per process. It answers GET / with
// JSON naming itself, the caller its sidecar vouched for (from x-forwarded-client-cert), and the
// answers of the services it calls through its sidecar's outbound proxy.
//
//   node app.js --name reviews --version v2 --port 9081 --proxy 127.0.0.1:15101 --calls ratings.default:9080
//
// GET /healthz answers 200, or 503 after a SIGUSR2 (the next SIGUSR2 makes it healthy again): a way
// to watch a sidecar's `--app-health http:/healthz` take the workload out of balancing and back.
import { createServer, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    version: { type: 'string', default: 'v1' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    proxy: { type: 'string' },
    calls: { type: 'string', default: '' },
  },
});
if (!values.name || !values.port) {
  process.stderr.write('usage: app.js --name NAME --port PORT [--version V] [--proxy HOST:PORT] [--calls svc.ns:port,...]\n');
  process.exit(2);
}
const calls = values.calls.split(',').filter(Boolean);
const [proxyHost, proxyPort] = (values.proxy ?? '').split(':');

/** Envoy's XFCC: `By=<id>;Hash=<hex>;URI=<id>`, several elements separated by commas. */
function parseXfcc(header) {
  if (!header) return undefined;
  const last = String(header).split(',').pop();
  return Object.fromEntries(last.split(';').map((kv) => kv.split('=')).map(([k, ...v]) => [k.toLowerCase(), v.join('=')]));
}

function call(target) {
  return new Promise((resolve) => {
    const req = request(
      { host: proxyHost, port: Number(proxyPort), method: 'GET', path: `http://${target}/`, headers: { host: target }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => {
          let parsed;
          try {
            parsed = JSON.parse(body);
          } catch {
            parsed = { error: body.trim() };
          }
          resolve({ target, status: res.statusCode, ...parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ target, status: 0, error: err.message }));
    req.end();
  });
}

let healthy = true;
process.on('SIGUSR2', () => {
  healthy = !healthy;
  process.stdout.write(`${values.name} ${values.version} now ${healthy ? 'healthy' : 'unhealthy'}\n`);
});

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok\n' : 'unhealthy\n');
    return;
  }
  const xfcc = parseXfcc(req.headers['x-forwarded-client-cert']);
  Promise.all(calls.map(call)).then((answers) => {
    const body = JSON.stringify({
      service: values.name,
      version: values.version,
      path: req.url,
      self: xfcc?.by ?? null,
      caller: xfcc?.uri ?? null,
      calls: answers,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});
server.listen(Number(values.port), values.host, () => process.stdout.write(`${values.name} ${values.version} listening on ${values.host}:${values.port}\n`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
