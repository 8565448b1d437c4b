import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, mkdirSync, chmodSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/**
 * Writes a file so that readers (and a crash at any moment) see either the old content or the new,
 * never a torn one: a temporary file in the same directory, created with the final mode (so a key
 * is never readable by others, not even briefly), fsynced, then renamed over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  // The umask may have narrowed the mode at creation; the final file gets exactly what was asked.
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  try {
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}

/** Writes secret material (private keys, admin tokens): mode 0600, atomically. */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  writeFileAtomic(path, data, 0o600);
}
