// The README's "short tour of the CLI", run as written: its fenced sh block is extracted, each
// command runs in a real shell (with `weft` on the PATH) in a fresh directory, the `&` ones as
// background processes, the ports it names replaced by free ones. The commands must equal the
// list below, one for one, so a tour edited without this test fails here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runCommand, tempDir, WEFT_BIN } from './helpers/cli.js';
import { freePort, stop, type Proc } from './helpers/mesh.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Step {
  /** The command as the README has it (continuations joined, comments dropped). */
  command: string;
  /** Exit code (default 0). */
  code?: number;
  /** What stdout must show. */
  stdout?: RegExp;
  /** For `&` commands: the line that says the process is ready. */
  ready?: RegExp;
}

const SIDECAR =
  'weft sidecar --control-plane 127.0.0.1:15012 --token-file details.token --state-dir ./.weft/sidecars/details --namespace default --service details --labels app=details,version=v1 --inbound 127.0.0.1:15006 --app 127.0.0.1:9080 --outbound 127.0.0.1:15001 --admin 127.0.0.1:15020 &';
const DETAILS = /"service":"details".*"self":"spiffe:\/\/cluster\.local\/ns\/default\/sa\/details","caller":"spiffe:\/\/cluster\.local\/ns\/default\/sa\/details"/;

const TOUR: readonly Step[] = [
  { command: 'weft ca init --trust-domain cluster.local', stdout: /created the CA in .*\n(.|\n)*trust domain:\s+cluster\.local/ },
  { command: 'weft ca init', stdout: /kept the existing CA in .*: nothing was changed/ },
  { command: 'weft ca show', stdout: /root fingerprint:\s+sha256:[0-9a-f]{64}/ },
  { command: 'weft ca show --bundle > bundle.pem' },
  { command: 'weft ca mint --spiffe-id spiffe://cluster.local/ns/ops/sa/backup --ttl 1h --out ./backup-svid', stdout: /SPIFFE ID:\s+spiffe:\/\/cluster\.local\/ns\/ops\/sa\/backup/ },
  { command: 'weft cert inspect ./backup-svid/svid.pem', stdout: /spiffe:\/\/cluster\.local\/ns\/ops\/sa\/backup/ },
  { command: 'weft token create --namespace default --service-account details --ttl 24h --once --out details.token' },
  { command: 'weft token create --namespace default --service-account ratings --ttl 1h > ratings.token' },
  { command: 'weft token list', stdout: /spiffe:\/\/cluster\.local\/ns\/default\/sa\/ratings\s+active/ },
  { command: 'weft token revoke TOKEN_ID', stdout: /revoked:\s+\S+\nidentity:\s+spiffe:\/\/cluster\.local\/ns\/default\/sa\/ratings/ },
  { command: 'weft control-plane --data-dir ./.weft --listen 127.0.0.1:15012 --admin 127.0.0.1:15000 &', ready: /control plane ready/ },
  { command: 'env $(weft sidecar --outbound 127.0.0.1:15001 --print-env) node examples/demo/app.js --name details --port 9080 &', ready: /details v1 listening/ },
  { command: SIDECAR, ready: /sidecar ready: spiffe:\/\/cluster\.local\/ns\/default\/sa\/details/ },
  { command: 'curl http://127.0.0.1:15020/healthz/ready', stdout: /ready/ },
  { command: 'curl http://127.0.0.1:15020/certs', stdout: /spiffe:\/\/cluster\.local\/ns\/default\/sa\/details/ },
  { command: 'curl http://127.0.0.1:15020/stats', stdout: /# TYPE/ },
  { command: 'curl http://127.0.0.1:15020/config', stdout: /version/ },
  { command: 'curl -x http://127.0.0.1:15001 http://details.default:9080/', stdout: DETAILS },
  { command: 'weft ca revoke --spiffe-id spiffe://cluster.local/ns/ops/sa/backup', stdout: /REVOKED SERIAL\s+IDENTITY\s+EXPIRES\n\S+\s+spiffe:\/\/cluster\.local\/ns\/ops\/sa\/backup/ },
  { command: 'weft apply -f examples/policies/ --dry-run', stdout: /authorizationpolicy\.security\.istio\.io\/allow-nothing created \(dry run\)/ },
  { command: 'weft apply -f examples/policies/', stdout: /authorizationpolicy\.security\.istio\.io\/allow-nothing created\n/ },
  { command: 'weft get authorizationpolicies -A', stdout: /default\s+allow-nothing\s+ALLOW(.|\n)*default\s+deny-admin\s+DENY/ },
  { command: 'weft get services', stdout: /NAME\s+PORT\(S\)\s+ENDPOINTS\s+VERSIONS\ndetails\s+\d+\/HTTP\s+1\s+v1\n/ },
  { command: 'weft get endpoints -o wide', stdout: /details\s+127\.0\.0\.1:\d+\s+\S+\s+spiffe:\/\/cluster\.local\/ns\/default\/sa\/details\s+app=details,version=v1/ },
  { command: 'weft status', stdout: /default\s+details\s+v1\s+app=details,version=v1\s+\d+\s+(ACK|PENDING \(last ACK \d+\))/ },
  { command: 'weft authz check --to details.default --from-principal cluster.local/ns/default/sa/productpage --method GET --path /', code: 1, stdout: /DENY(.|\n)*allow-nothing/ },
  { command: 'curl -x http://127.0.0.1:15001 http://details.default:9080/', stdout: /RBAC: access denied/ },
  { command: 'weft delete ap allow-nothing -n default', stdout: /authorizationpolicy\.security\.istio\.io\/allow-nothing deleted/ },
  { command: 'weft authz check --to details.default --from-principal cluster.local/ns/default/sa/productpage --method GET --path /admin/users', code: 1, stdout: /DENY(.|\n)*deny-admin/ },
  { command: 'weft analyze' },
  { command: 'weft delete -f examples/policies/ --ignore-not-found', stdout: /deny-admin deleted/ },
];

/** The commands of the README's tour: the first sh block after its heading. */
function tourCommands(readme: string): string[] {
  const at = readme.indexOf('## A short tour of the CLI');
  assert.ok(at >= 0, 'README.md has no "A short tour of the CLI" section');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, 'the tour has no ```sh block');
  const joined = block[1]!.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/\s+#.*$/, '').replace(/\s+/g, ' ').replace(/ &$/, ' &'));
}

test('the README tour lists exactly the commands this test runs', () => {
  assert.deepEqual(tourCommands(readFileSync(join(ROOT, 'README.md'), 'utf8')), TOUR.map((s) => s.command));
});

test('the README tour runs as typed: every command succeeds with what the README says', { timeout: 480_000 }, async () => {
  const tmp = tempDir('weft-tour-');
  const background: Proc[] = [];
  try {
    const bin = join(tmp.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'weft'), `#!/bin/sh\nexec "${process.execPath}" "${WEFT_BIN}" "$@"\n`);
    chmodSync(join(bin, 'weft'), 0o755);
    const cwd = join(tmp.dir, 'repo');
    mkdirSync(cwd);
    symlinkSync(join(ROOT, 'examples'), join(cwd, 'examples'));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    for (const name of ['WEFT_CONFIG', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']) delete env[name];

    // The tour's fixed ports, each replaced by a free one wherever it appears.
    const ports = new Map<string, string>();
    for (const step of TOUR) for (const m of step.command.matchAll(/127\.0\.0\.1:(\d+)/g)) if (!ports.has(m[1]!)) ports.set(m[1]!, String(await freePort()));
    const localize = (command: string) => command.replace(/\b(\d{4,5})\b/g, (p) => ports.get(p) ?? p);

    let sidecarCommand = '';
    for (const step of TOUR) {
      let command = localize(step.command);
      if (command.includes('TOKEN_ID')) command = command.replace('TOKEN_ID', await ratingsTokenId(cwd, env));
      if (command.endsWith(' &')) {
        const proc = shell(step.command.split(' ').slice(0, 2).join(' '), command.slice(0, -2), cwd, env);
        background.push(proc);
        await waitFor(proc, step.ready!);
        if (step.command === SIDECAR) sidecarCommand = command;
        continue;
      }
      const r = await runCommand('/bin/sh', ['-c', command], { cwd, env, timeoutMs: 60_000 });
      assert.equal(r.code, step.code ?? 0, `${step.command}\n-> exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      if (step.stdout) assert.match(r.stdout, step.stdout, `${step.command}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }

    // The tour's claim: the same sidecar command starts it again once its --once token is spent.
    const sidecar = background.find((p) => p.name === 'weft sidecar')!;
    await stop([sidecar]);
    const again = shell('weft sidecar (again)', sidecarCommand.slice(0, -2), cwd, env);
    background.push(again);
    await waitFor(again, /sidecar ready/);
    const call = await runCommand('/bin/sh', ['-c', localize('curl -s -x http://127.0.0.1:15001 http://details.default:9080/')], { cwd, env });
    assert.match(call.stdout, DETAILS);

    // What a newcomer meets next: `npm start` (weft up) in the same directory. The tour deleted what
    // it applied, so nothing is in force and every check passes. The sidecar leaves the registry
    // while the control plane still runs, as when each is stopped in its own terminal.
    const controlPlane = background.find((p) => p.name === 'weft control-plane')!;
    await stop(background.filter((p) => p !== controlPlane));
    await stop([controlPlane]);
    const up = await runCommand('/bin/sh', ['-c', 'weft up --no-wait'], { cwd, env, timeoutMs: 150_000 });
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    assert.match(up.stdout, /resources in force: none/);
    assert.match(up.stdout, /all 6 checks passed/);
  } finally {
    await stop(background);
    tmp.cleanup();
  }
});

/** A background command of the tour, as `sh -c 'exec COMMAND'`: its PID is the process's own. */
function shell(name: string, command: string, cwd: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn('/bin/sh', ['-c', `exec ${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, output: () => out, exited };
}

async function waitFor(proc: Proc, ready: RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ready.test(proc.output())) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited ${proc.child.exitCode}:\n${proc.output()}`);
    if (performance.now() > deadline) throw new Error(`${proc.name} not ready within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ratingsTokenId(cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runCommand('/bin/sh', ['-c', 'weft token list -o json'], { cwd, env });
  const tokens = JSON.parse(r.stdout) as { id: string; spiffeId: string; state: string }[];
  const id = tokens.find((t) => t.spiffeId.endsWith('/sa/ratings') && t.state === 'active')?.id;
  assert.ok(id, r.stdout);
  return id;
}
