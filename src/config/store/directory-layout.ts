// Where the directory store keeps each resource: resources/<Kind>/<namespace>/<name>.yaml, or
// resources/<Kind>/<name>.yaml for a cluster-scoped kind. Names and namespaces are DNS labels and
// subdomains (validated), so they are safe path segments.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export function relativePathOf(key: string): string {
  const parts = key.split('/');
  return `${join(...parts)}.yaml`;
}

/** Every `.yaml` file under `dir`, as paths relative to it. */
export function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 3) return;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(d, name);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue;
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
