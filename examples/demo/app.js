#!/usr/bin/env node
// The demo application `weft up` runs: one small HTTP service per process. It answers GET / with
// JSON naming itself, the caller its sidecar vouched for (from x-forwarded-client-cert), and the
// answers of the services it calls.
//
// It has no mesh code: it calls http://SERVICE.NAMESPACE:PORT/ with plain fetch, and the sidecar's
// outbound proxy is reached the documented way (docs/app-integration.md): the environment
// `weft sidecar --print-env` prints (HTTP_PROXY, NO_PROXY...) and, because Node 20's fetch does
// not read HTTP_PROXY by itself, the one line that installs undici's EnvHttpProxyAgent. On Node 24
// and later, NODE_USE_ENV_PROXY=1 does the same without that line.
//
//   HTTP_PROXY=http://127.0.0.1:15101 NO_PROXY=127.0.0.1,localhost \
//     node app.js --name reviews --version v2 --port 9081 --calls ratings.default:9080
//
// GET /healthz answers 200, or 503 after a SIGUSR2 (the next SIGUSR2 makes it healthy again): a way
// to watch a sidecar's `--app-health http:/healthz` take the workload out of balancing and back.
/* global fetch, AbortSignal */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    version: { type: 'string', default: 'v1' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    // Kept for scripts that predate the environment: overrides HTTP_PROXY with http://HOST:PORT.
    proxy: { type: 'string' },
    calls: { type: 'string', default: '' },
  },
});
if (!values.name || !values.port) {
  process.stderr.write('usage: app.js --name NAME --port PORT [--version V] [--calls svc.ns:port,...] (calls go through $HTTP_PROXY)\n');
  process.exit(2);
}
// proxyTunnel: false sends a call to http:// as an HTTP request the sidecar reads (its policy sees
// the method and path, the callee gets the caller's identity), not as an opaque CONNECT tunnel.
setGlobalDispatcher(new EnvHttpProxyAgent({ proxyTunnel: false, ...(values.proxy ? { httpProxy: `http://${values.proxy}` } : {}) }));
const calls = values.calls.split(',').filter(Boolean);

/** Envoy's XFCC: `By=<id>;Hash=<hex>;URI=<id>`, several elements separated by commas. */
function parseXfcc(header) {
  if (!header) return undefined;
  const last = String(header).split(',').pop();
  return Object.fromEntries(last.split(';').map((kv) => kv.split('=')).map(([k, ...v]) => [k.toLowerCase(), v.join('=')]));
}

/** One call; a refusal keeps what the sidecar said about it (status, x-weft-proxy-error, body). */
async function call(target) {
  try {
    const res = await fetch(`http://${target}/`, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = { error: body.trim().slice(0, 500) };
    }
    const proxyError = res.headers.get('x-weft-proxy-error');
    return { target, status: res.status, ...(proxyError ? { proxyError } : {}), ...parsed };
  } catch (err) {
    return { target, status: 0, error: err.cause?.message ?? err.message };
  }
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
