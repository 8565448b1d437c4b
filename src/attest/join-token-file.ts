// A join token kept in a file, as `weft token create --out FILE` writes it (0600) and
// `weft sidecar --token-file FILE` reads it. The token is a bearer secret until it is used or
// expires, so a file that group or others can read (or replace) is reported by the reader.
import { readFileSync, statSync } from 'node:fs';
import { WeftError } from '../lib/errors.js';

/** A token file's content, and its permission bits when group or others may read it. */
export interface JoinTokenFile {
  readonly token: string;
  /** Set (e.g. 0o644) when the mode gives group or others any access; the caller warns. */
  readonly exposedMode?: number;
}

/**
 * Reads the token at `path` (surrounding whitespace removed).
 *
 * @throws WeftError `WEFT_FILE_UNREADABLE` when the file cannot be read
 */
export function readJoinTokenFile(path: string): JoinTokenFile {
  let token: string;
  let mode: number;
  try {
    token = readFileSync(path, 'utf8').trim();
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    throw new WeftError('WEFT_FILE_UNREADABLE', `cannot read the join token file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  // Windows has no group/other bits to speak of: Node reports 0o666 for every writable file.
  const exposed = process.platform !== 'win32' && (mode & 0o077) !== 0;
  return exposed ? { token, exposedMode: mode } : { token };
}

/** A mode as `chmod` spells it: `0644`. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
