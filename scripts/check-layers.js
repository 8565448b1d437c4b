#!/usr/bin/env node
// Keeps the import direction of docs/architecture.md: a domain may import only from domains of a
// lower layer (or from itself). Prints every break and the largest source files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const LAYERS = {
  lib: 0,
  identity: 1,
  config: 2, telemetry: 2,
  policy: 3, traffic: 3,
  ca: 3, attest: 3, registry: 3, api: 3,
  controlplane: 4, agent: 4, proxy: 4,
  sidecar: 5,
  cli: 6,
};
const root = resolve('src');

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

const domainOf = (file) => relative(root, file).split('/')[0];
const breaks = [];
const sizes = [];
for (const file of walk(root)) {
  const text = readFileSync(file, 'utf8');
  sizes.push([text.split('\n').length, relative('.', file)]);
  if (file.endsWith('.test.ts')) continue;
  const from = domainOf(file);
  if (from === 'index.ts') continue;
  if (!(from in LAYERS)) { breaks.push(`${relative('.', file)}: folder "${from}" has no layer in scripts/check-layers.js`); continue; }
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
    const target = domainOf(resolve(dirname(file), m[1]));
    if (target === from || target === 'index.ts') continue;
    if (!(target in LAYERS) || LAYERS[target] >= LAYERS[from]) {
      breaks.push(`${relative('.', file)}: ${from} (layer ${LAYERS[from]}) imports ${m[1]} from ${target} (layer ${LAYERS[target]})`);
    }
  }
  if ((from === 'policy' || from === 'traffic') && /from\s+['"]node:(net|tls|fs|http|http2|dgram|child_process)['"]/.test(text)) {
    breaks.push(`${relative('.', file)}: src/${from} must stay free of I/O`);
  }
}
sizes.sort((a, b) => b[0] - a[0]);
console.log('largest source files: ' + sizes.slice(0, 5).map(([n, f]) => `${f} ${n}`).join(', '));
const over = sizes.filter(([n]) => n > 800);
for (const [n, f] of over) breaks.push(`${f}: ${n} lines, over the 800-line cap`);
if (breaks.length > 0) {
  console.error(breaks.join('\n'));
  process.exit(1);
}
console.log('layers: ok');
