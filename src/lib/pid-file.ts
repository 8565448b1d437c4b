// Lock files that hold their owner's pid: created with O_EXCL, taken over when the owner no
// longer runs. Shared by the token store (a lock per write) and the configuration store (a lock
// for the process's lifetime).
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** Creates the lock file with this process's pid; false when it already exists. */
export function tryCreatePidFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * True when the pid in the lock file no longer runs (or is this process's own, left by a section
 * that threw before cleanup). An empty file (its owner is still writing it) is not gone.
 */
export function pidFileOwnerIsGone(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false; // released meanwhile: the next attempt creates it
  }
  const pid = Number.parseInt(text, 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The pid a lock file names, if readable. */
export function pidFileOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
