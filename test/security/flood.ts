// Clients that prove nothing, for the exhaustion tests: connections that send nothing, one byte of
// a TLS record, or half a request head, and then wait. Every one is opened by this process on
// 127.0.0.1 and destroyed by it at the end; the tests watch whether the server closes them first.
import { connect, type Socket } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';

/** What a half-open client sends after connecting, before going silent. */
export interface Shape {
  readonly name: string;
  readonly bytes: Buffer;
}

export const SHAPES = {
  silent: { name: 'silent', bytes: Buffer.alloc(0) },
  tlsByte: { name: 'one byte of a TLS record', bytes: Buffer.from([0x16]) },
  tlsHeader: { name: 'a TLS record header and no body', bytes: Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]) },
  halfHead: { name: 'half an HTTP request head', bytes: Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\n') },
} as const satisfies Record<string, Shape>;

export interface Flood {
  readonly sockets: readonly Socket[];
  /** Connections the server has closed (the client never closes one before the end). */
  closed(): number;
  destroy(): void;
}

/** Opens `count` connections to `port`, `batch` at a time, each sending `shape.bytes` and then nothing. */
export async function flood(port: number, count: number, shape: Shape, batch = 100): Promise<Flood> {
  const sockets: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < count; i += batch) {
    const opened: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const s = connect({ host: '127.0.0.1', port });
      sockets.push(s);
      s.on('error', () => undefined);
      s.resume();
      s.once('close', () => closed++);
      opened.push(
        new Promise<void>((resolve) => {
          s.once('connect', () => {
            if (shape.bytes.length > 0) s.write(shape.bytes);
            resolve();
          });
          s.once('close', () => resolve());
        }),
      );
    }
    await Promise.all(opened);
  }
  return { sockets, closed: () => closed, destroy: () => sockets.forEach((s) => s.destroy()) };
}

/** Open descriptors of process `pid` (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of process `pid`, in KiB. */
export function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

/** Polls `check` until it returns true; fails with `what()` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what()}`);
}

/** The sidecar's data-path counters from its admin /stats. */
export async function sidecarStats(adminPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^weft_sidecar_(\w+) (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}
