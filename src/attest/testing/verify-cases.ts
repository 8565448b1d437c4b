// The table runner for JoinTokenStore#verify cases (excluded from the build): each case makes a
// token against a fresh data directory, then asserts the identity proven or the exact refusal.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { JoinTokenError } from '../errors.js';
import type { JoinTokenStore } from '../token-store.js';
import { CA, EXPECT, tempStore, TD } from './fixtures.js';

export type Env = ReturnType<typeof tempStore>;

const cleanups: (() => void)[] = [];

/** A store on a fresh data directory, removed by `cleanupAll`. */
export function env(): Env {
  const e = tempStore();
  cleanups.push(e.cleanup);
  return e;
}

/** Registers one more thing for `cleanupAll` to run. */
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

/** Removes every data directory made by `env()`; call from the test file's `after`. */
export function cleanupAll(): void {
  for (const fn of cleanups.splice(0)) fn();
}

export const WEB = `spiffe://${TD}/ns/default/sa/web`;

/** Creates a token for default/web in `e`. */
export function web(e: Env, over: { once?: boolean; ttlMs?: number; trustDomain?: string; caFingerprint?: string } = {}) {
  return e.store.create({ trustDomain: TD, namespace: 'default', serviceAccount: 'web', caFingerprint: CA, ...over });
}

/** The token-signing key of a data directory. */
export function signingKey(dir: string) {
  return createPrivateKey(readFileSync(join(dir, 'tokens', 'signing-key.pem')));
}

/** One table case: `ok/...` proves `ok`; `fail/...` is refused with `code`, `reason` and a message matching `message`. */
export interface VerifyCase {
  name: string;
  /** Returns the text to present and, optionally, another store to present it to. */
  make: (e: Env) => { store?: JoinTokenStore; token: string } | Promise<{ store?: JoinTokenStore; token: string }>;
  ok?: string;
  code?: string;
  reason?: string;
  message?: RegExp;
}

/** Runs each case as its own test. */
export function runVerifyCases(cases: readonly VerifyCase[]): void {
  for (const c of cases) {
    test(c.name, async () => {
      const e = env();
      const made = await c.make(e);
      const store = made.store ?? e.store;
      if (c.ok !== undefined) {
        const proven = store.verify(made.token, EXPECT);
        assert.equal(proven.spiffeId, c.ok);
        assert.match(proven.tokenId, /^[\w-]{22}$/);
        return;
      }
      assert.throws(
        () => store.verify(made.token, EXPECT),
        (err: unknown) => {
          assert.ok(err instanceof JoinTokenError, `not a JoinTokenError: ${String(err)}`);
          assert.equal(err.code, c.code);
          assert.equal(err.reason, c.reason);
          if (c.message) assert.match(err.message, c.message);
          if (err.tokenId !== undefined) assert.ok(err.message.includes(err.tokenId), 'message names the token id');
          // The token is a secret: no part of it beyond the id may reach a message.
          for (const part of made.token.split('.')) if (part.length > 8) assert.ok(!err.message.includes(part));
          return true;
        },
      );
    });
  }
}
