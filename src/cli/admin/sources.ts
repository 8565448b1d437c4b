// Reads the -f argument of apply, delete and analyze: a file, a directory (its .yaml, .yml and
// .json files, sorted; not recursive, as kubectl), or `-` for standard input.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WeftError } from '../../lib/errors.js';
import type { ResourceSource } from '../../controlplane/admin/routes.js';

const RESOURCE_FILE = /\.(ya?ml|json)$/i;

export function readSources(paths: readonly string[], stdin: () => string = () => readFileSync(0, 'utf8')): ResourceSource[] {
  const out: ResourceSource[] = [];
  for (const path of paths) {
    if (path === '-') {
      out.push({ file: '<stdin>', text: stdin() });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      throw new WeftError('WEFT_FILE_UNREADABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const files = isDir ? readdirSync(path).filter((f) => RESOURCE_FILE.test(f)).sort().map((f) => join(path, f)) : [path];
    if (isDir && files.length === 0) throw new WeftError('WEFT_FILE_UNREADABLE', `${path} holds no .yaml, .yml or .json file`);
    for (const file of files) {
      try {
        out.push({ file, text: readFileSync(file, 'utf8') });
      } catch (err) {
        throw new WeftError('WEFT_FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
  }
  return out;
}
