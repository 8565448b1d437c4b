// A cross-process mutex for the token store's read-modify-write: a lock file created with O_EXCL
// holding the owner's pid. Every critical section is synchronous and lasts a few milliseconds (read
// tokens.json, change one record, write it back with fsync), so waiting is a short synchronous
// sleep rather than a retry loop on the event loop.
//
// A lock left behind by a process that died is taken over when its pid no longer runs. Remaining
// race, accepted: if two waiters find the same dead owner at once, the second may delete the lock
// the first just took. That needs a crash inside a critical section plus two concurrent writers.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { pidFileOwnerIsGone as ownerIsGone, tryCreatePidFile as tryCreate } from '../lib/pid-file.js';
import { JoinTokenStoreError } from './errors.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const WAIT_MS = 5;
/** 400 waits of 5 ms: a lock held two seconds is not a writer at work but a stuck one. */
const MAX_WAITS = 400;

/**
 * Runs `fn` while holding the lock file at `path`.
 *
 * @throws JoinTokenStoreError `WEFT_TOKEN_STORE_BUSY` when a live process holds the lock for
 *   about two seconds.
 */
export function withFileLock<T>(path: string, fn: () => T): T {
  acquire(path);
  try {
    return fn();
  } finally {
    rmSync(path, { force: true });
  }
}

function acquire(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let waits = 0; ; ) {
    if (tryCreate(path)) return;
    if (ownerIsGone(path)) {
      rmSync(path, { force: true });
      continue;
    }
    if (++waits > MAX_WAITS) {
      throw new JoinTokenStoreError(
        'WEFT_TOKEN_STORE_BUSY',
        `the token store is locked by another process (${path}); if no weft process is running, remove that file`,
        { path },
      );
    }
    Atomics.wait(sleeper, 0, 0, WAIT_MS);
  }
}
