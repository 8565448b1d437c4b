// The file operations of the directory store, behind one small interface so a test can make any
// of them fail (EMFILE, EIO, EACCES) exactly where it wants. Only ENOENT means "not there"; every
// other error is an I/O failure that must never be read as an absent file.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../lib/files.js';

export interface StoreFs {
  readdir(dir: string): string[];
  stat(path: string): { isDirectory(): boolean; mtimeMs: number; size: number };
  readFile(path: string): string;
  /** Atomic replace (temporary file, fsync, rename), as lib/files writeFileAtomic. */
  writeFile(path: string, text: string, mode: number): void;
  /** Removes a file; an absent one is not an error. */
  remove(path: string): void;
}

export const nodeStoreFs: StoreFs = {
  readdir: (dir) => readdirSync(dir),
  stat: (path) => statSync(path),
  readFile: (path) => readFileSync(path, 'utf8'),
  writeFile: (path, text, mode) => writeFileAtomic(path, text, mode),
  remove: (path) => rmSync(path, { force: true }),
};

/** Whether `err` says the path does not exist (or a parent is not a directory): the file is gone. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
