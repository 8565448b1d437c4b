// Where the directory store keeps each resource: resources/<Kind>/<namespace>/<name>.yaml, or
// resources/<Kind>/<name>.yaml for a cluster-scoped kind. Names and namespaces are DNS labels and
// subdomains (validated), so they are safe path segments.
import { createHash } from 'node:crypto';
import { join, relative, sep } from 'node:path';
import { isGone, nodeStoreFs, type StoreFs } from './store-fs.js';

export function relativePathOf(key: string): string {
  const parts = key.split('/');
  return `${join(...parts)}.yaml`;
}

/**
 * Every `.yaml` file under `dir`, as paths relative to it. A directory or file that vanishes while
 * it is walked is skipped (ENOENT: gone); any other error (EMFILE, EIO, EACCES) is thrown, since a
 * listing that silently misses files would read as those files having been deleted.
 */
export function yamlFilesUnder(dir: string, fs: StoreFs = nodeStoreFs): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 3) return;
    let names: string[];
    try {
      names = fs.readdir(d);
    } catch (err) {
      if (isGone(err)) return;
      throw err;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(d, name);
      let st;
      try {
        st = fs.stat(path);
      } catch (err) {
        if (isGone(err)) continue;
        throw err;
      }
      if (st.isDirectory()) walk(path, depth + 1);
      else if (name.endsWith('.yaml')) out.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir, 0);
  return out.sort();
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
