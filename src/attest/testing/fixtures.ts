// Shared by the attest tests (excluded from the build): temporary data directories, the constants
// of a test mesh, and helpers to take a token apart and put it back together.
import { createHmac, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrozenClock } from '../../lib/clock.js';
import { signCompactEs256 } from '../compact-jws.js';
import { JoinTokenStore } from '../token-store.js';

export const TD = 'cluster.local';
export const CA = `sha256:${'1a'.repeat(32)}`;
export const OTHER_CA = `sha256:${'2b'.repeat(32)}`;
export const EXPECT = { trustDomain: TD, caFingerprint: CA } as const;

/** A fresh data directory, removed by `cleanup`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-attest-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A store on a fresh data directory with a frozen clock. */
export function tempStore(): { dir: string; clock: FrozenClock; store: JoinTokenStore; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const clock = new FrozenClock();
  return { dir, clock, store: JoinTokenStore.open(dir, { clock }), cleanup };
}

export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** The header and claims of a token, decoded without any check. */
export function partsOf(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; sig: string } {
  const [h, p, sig] = token.split('.') as [string, string, string];
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), claims: JSON.parse(Buffer.from(p, 'base64url').toString()), sig };
}

/** Re-signs a header and claims with any P-256 key. */
export function resign(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  return signCompactEs256(header, claims, key);
}

/** An HS256 JWS whose HMAC secret is `secret`: the classic alg-confusion attack. */
export function hs256(header: Record<string, unknown>, claims: Record<string, unknown>, secret: Buffer | string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
