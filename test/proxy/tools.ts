// Real clients for the system tests: curl and openssl s_client, started by the test and ended by
// their PID. Every run is bounded in time.
import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `curl` with `args`; curl's own --max-time bounds it, the kill timer is the backstop. */
export function curl(args: readonly string[], timeoutMs = 20_000): Promise<ToolResult> {
  return run('/usr/bin/curl', ['-sS', '--max-time', String(Math.ceil(timeoutMs / 1000) - 1), ...args], timeoutMs);
}

function run(file: string, args: readonly string[], timeoutMs: number, stdin?: Buffer): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(stdin);
  });
}

/** The HTTP/2 client connection preface followed by an empty SETTINGS frame (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/**
 * Connects with `openssl s_client -alpn h2`, sends the HTTP/2 preface and reports whether the
 * server answered with any HTTP/2 bytes (`answered`) or closed on us. An accepted peer's session
 * stays open, so s_client is ended (by PID) as soon as the first bytes arrive.
 */
export function sClientH2(port: number, files: { certPath?: string; keyPath?: string; chainPath?: string }, timeoutMs = 15_000): Promise<{ answered: boolean; code: number | null; stderr: string }> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-alpn', 'h2', '-quiet', '-no_ign_eof'];
  if (files.certPath) args.push('-cert', files.certPath, '-key', files.keyPath!);
  if (files.chainPath) args.push('-cert_chain', files.chainPath);
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let answered = false;
    let err = '';
    child.stdout.on('data', () => {
      answered = true;
      child.kill('SIGTERM');
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ answered, code, stderr: err });
    });
    // Keep stdin open: s_client would otherwise stop at EOF before the server's answer arrives.
    child.stdin.write(H2_PREFACE);
    child.once('close', () => child.stdin.destroy());
  });
}
