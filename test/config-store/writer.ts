// Applies batches forever (until killed): batch k sets every one of 20 policies to path /batch/k.
// The crash test kills this process at random moments and checks each batch was all or nothing.
import { DirectoryConfigStore, parseResources } from '../../src/config/index.js';

const dir = process.argv[2]!;
const store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
const start = Number(process.argv[3] ?? 0);
process.stdout.write('open\n');
for (let k = start; k < start + 100_000; k++) {
  const docs = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: `p${i}`, namespace: 'crash' }, spec: { rules: [{ to: [{ operation: { paths: [`/batch/${k}`] } }] }] } }),
  );
  const parsed = parseResources(docs.join('\n---\n'), 'batch.yaml');
  if (!parsed.ok) throw new Error('bad batch');
  await store.apply(parsed.value);
  if (k === start) process.stdout.write('committed\n');
}
