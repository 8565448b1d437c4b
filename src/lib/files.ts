import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync, mkdirSync, chmodSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/**
 * Writes a file so that readers (and a crash at any moment) see either the old content or the new,
 * never a torn one: a temporary file in the same directory, created with the final mode (so a key
 * is never readable by others, not even briefly), fsynced, then renamed over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const { dir, tmp } = writeTemporary(path, data, mode);
  renameSync(tmp, path);
  syncDirectory(dir);
}

/** Writes secret material (private keys, admin tokens): mode 0600, atomically. */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  writeFileAtomic(path, data, 0o600);
}

/**
 * Like writeSecretFile, but never replaces an existing file (or symlink): the complete file is
 * hard-linked into place, which fails with EEXIST if anything got there first.
 *
 * @throws the EEXIST error of link(2) when `path` exists; nothing is left behind then
 */
export function writeSecretFileExclusive(path: string, data: string | Uint8Array): void {
  const { dir, tmp } = writeTemporary(path, data, 0o600);
  try {
    linkSync(tmp, path);
  } finally {
    unlinkSync(tmp);
  }
  syncDirectory(dir);
}

function writeTemporary(path: string, data: string | Uint8Array, mode: number): { dir: string; tmp: string } {
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
  return { dir, tmp };
}

function syncDirectory(dir: string): void {
  try {
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}
