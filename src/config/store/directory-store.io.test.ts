// The directory store under I/O failure: only ENOENT means a file is gone. Any other error of any
// file operation a rescan makes (EMFILE, EIO, EACCES) changes nothing, is reported, and a later
// rescan converges once the filesystem answers again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { isWeftError } from '../../lib/errors.js';
import type { Resource } from '../generated/types.js';
import { parseResources } from '../validate.js';
import { DirectoryConfigStore } from './directory-store.js';
import { nodeStoreFs, type StoreFs } from './store-fs.js';
import type { StoreEvent } from './types.js';

const policy = (name: string, method = 'GET') => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: shop
spec:
  rules:
  - to:
    - operation:
        methods: [${method}]
`;

function parse(text: string): Resource[] {
  const r = parseResources(text, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

type Op = keyof StoreFs;
interface Fault {
  op: Op;
  /** Fails only paths containing this. */
  match: string;
  code: string;
}

/** The real filesystem, except that operations matching an armed fault fail with its errno. */
function faultyFs(): { fs: StoreFs; faults: Fault[] } {
  const faults: Fault[] = [];
  const check = (op: Op, path: string) => {
    const f = faults.find((x) => x.op === op && path.includes(x.match));
    if (f) throw Object.assign(new Error(`${f.code}: injected, ${op} '${path}'`), { code: f.code, syscall: op, path });
  };
  const fs: StoreFs = {
    readdir: (d) => (check('readdir', d), nodeStoreFs.readdir(d)),
    stat: (p) => (check('stat', p), nodeStoreFs.stat(p)),
    readFile: (p) => (check('readFile', p), nodeStoreFs.readFile(p)),
    writeFile: (p, t, m) => (check('writeFile', p), nodeStoreFs.writeFile(p, t, m)),
    remove: (p) => (check('remove', p), nodeStoreFs.remove(p)),
  };
  return { fs, faults };
}

const FILE = (dir: string, name: string) => join(dir, 'resources', 'AuthorizationPolicy', 'shop', `${name}.yaml`);

describe('directory store: I/O errors are never read as "the file is gone"', () => {
  let dir: string;
  let store: DirectoryConfigStore;
  let faults: Fault[];
  let events: StoreEvent[];
  let logs: { event: string; fields: Record<string, unknown> }[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-dirstore-io-'));
    const f = faultyFs();
    faults = f.faults;
    logs = [];
    store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000, fs: f.fs, log: (event, fields) => logs.push({ event, fields }) });
    await store.apply(parse(policy('a')));
    await store.apply(parse(policy('b')));
    events = [];
    store.watch((e) => events.push(e));
  });
  afterEach(async () => {
    faults.length = 0;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const snapshot = async () => ({ revision: await store.revision(), items: await store.list() });

  // Every place a rescan touches the filesystem, with every errno that is not ENOENT.
  const places: [string, Op, string][] = [
    ['the resources directory cannot be listed', 'readdir', 'resources'],
    ['a kind directory cannot be listed', 'readdir', 'AuthorizationPolicy'],
    ['a namespace directory cannot be listed', 'readdir', `AuthorizationPolicy${'/'}shop`],
    ['an entry cannot be stat()ed', 'stat', 'a.yaml'],
    ['a changed file cannot be read', 'readFile', 'a.yaml'],
  ];
  for (const code of ['EMFILE', 'ENFILE', 'EIO', 'EACCES']) {
    for (const [name, op, match] of places) {
      test(`fail/${code}: ${name}: the rescan throws WEFT_STORE_IO and nothing changes`, async () => {
        writeFileSync(FILE(dir, 'a'), policy('a', 'PUT')); // a hand edit the failed rescan must not half-apply
        const before = await snapshot();
        faults.push({ op, match, code });
        assert.throws(() => store.rescan(), (err: Error) => isWeftError(err, 'WEFT_STORE_IO') && err.message.includes(code) && /nothing was changed/.test(err.message));
        assert.deepEqual(await snapshot(), before);
        assert.deepEqual(events, []);
        faults.length = 0;
        store.rescan();
        assert.deepEqual((events as StoreEvent[]).map((e) => [e.type, 'key' in e ? e.key : '']), [['modified', 'AuthorizationPolicy/shop/a']]);
        assert.equal((await store.list()).length, 2);
      });
    }
  }

  test('ok/ENOENT does mean gone: a deleted file deletes its resource', async () => {
    unlinkSync(FILE(dir, 'b'));
    store.rescan();
    assert.deepEqual((events as StoreEvent[]).map((e) => [e.type, 'key' in e ? e.key : '']), [['deleted', 'AuthorizationPolicy/shop/b']]);
  });

  test('fail/a missing resources directory is a broken data directory, not "every file deleted"', async () => {
    rmSync(join(dir, 'resources'), { recursive: true });
    assert.throws(() => store.rescan(), (err: Error) => isWeftError(err, 'WEFT_STORE_IO') && /ENOENT/.test(err.message));
    assert.equal((await store.list()).length, 2);
  });

  test('fail/an apply whose journal cannot be written is refused and changes nothing', async () => {
    const before = await snapshot();
    faults.push({ op: 'writeFile', match: 'journal.json', code: 'EMFILE' });
    await assert.rejects(store.apply(parse(policy('c'))), (err: Error) => isWeftError(err, 'WEFT_STORE_IO'));
    assert.deepEqual(await snapshot(), before);
    faults.length = 0;
    await store.apply(parse(policy('c')));
    assert.equal((await store.list()).length, 3);
  });

  test('ok/a change whose journal is durable but whose files fail is in force and is completed before anything else', async () => {
    faults.push({ op: 'writeFile', match: `resources${'/'}AuthorizationPolicy`, code: 'EIO' });
    const result = await store.apply(parse(policy('c')));
    assert.equal(result.results[0]?.action, 'created');
    assert.ok(await store.get('AuthorizationPolicy/shop/c'));
    assert.ok(logs.some((l) => l.event === 'config.store_write_pending'));
    // Still failing: the next change waits for it, and is refused with nothing changed.
    await assert.rejects(store.apply(parse(policy('d'))), (err: Error) => isWeftError(err, 'WEFT_STORE_IO'));
    assert.equal(await store.get('AuthorizationPolicy/shop/d'), undefined);
    faults.length = 0;
    store.rescan();
    assert.ok(logs.some((l) => l.event === 'config.store_write_completed'));
    assert.deepEqual(events.filter((e) => e.type !== 'added'), [], 'the completed write is not taken for a hand edit');
    await store.close();
    store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    assert.deepEqual((await store.list()).map((r) => r.metadata.name), ['a', 'b', 'c']);
  });

  test('ok/the watch path never throws: a failing rescan is logged, retried with backoff, and converges', async () => {
    await store.close();
    const f = faultyFs();
    faults = f.faults;
    store = await DirectoryConfigStore.open(dir, { rescanMs: 20, fs: f.fs, log: (event, fields) => logs.push({ event, fields }) });
    events = [];
    store.watch((e) => events.push(e));
    faults.push({ op: 'readdir', match: 'AuthorizationPolicy', code: 'EMFILE' });
    unlinkSync(FILE(dir, 'b'));
    const deadline = performance.now() + 30_000;
    while (logs.filter((l) => l.event === 'config.rescan_failed').length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const failed = logs.filter((l) => l.event === 'config.rescan_failed');
    assert.ok(failed.length >= 2, 'failures are logged');
    assert.match(String(failed[0]!.fields.reason), /EMFILE.*WEFT_STORE_IO/);
    assert.ok((failed[1]!.fields.retryInMs as number) >= 200, 'the retry backs off');
    assert.deepEqual(events, [], 'nothing was removed while listing failed');
    assert.equal((await store.list()).length, 2);
    faults.length = 0;
    while (events.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual((events as StoreEvent[]).map((e) => [e.type, 'key' in e ? e.key : '']), [['deleted', 'AuthorizationPolicy/shop/b']]);
    assert.ok(logs.some((l) => l.event === 'config.rescan_recovered'));
  });

  test('property: under any faults, a rescan either applies the edits or changes nothing', async () => {
    const ops: Op[] = ['readdir', 'stat', 'readFile', 'writeFile', 'remove'];
    const matches = ['resources', 'AuthorizationPolicy', 'a.yaml', 'b.yaml', 'journal.json', 'state.json', '.committed'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: fc.constantFrom(...ops), match: fc.constantFrom(...matches), code: fc.constantFrom('EMFILE', 'EIO', 'EACCES') }), { maxLength: 3 }),
        fc.constantFrom('edit', 'delete', 'none'),
        async (armed, change) => {
          faults.length = 0;
          store.rescan(); // settle whatever an earlier run left
          await store.apply(parse(policy('a')));
          await store.apply(parse(policy('b')));
          store.rescan();
          if (change === 'edit') writeFileSync(FILE(dir, 'a'), policy('a', 'POST'));
          if (change === 'delete') rmSync(FILE(dir, 'b'), { force: true });
          const before = await snapshot();
          faults.push(...armed);
          let threw: unknown;
          try {
            store.rescan();
          } catch (err) {
            threw = err;
          }
          faults.length = 0;
          if (threw !== undefined) {
            assert.ok(isWeftError(threw, 'WEFT_STORE_IO'), String(threw));
            // A failure before the journal is durable leaves everything as it was.
            const after = await snapshot();
            if (after.revision === before.revision) assert.deepEqual(after, before);
          }
          store.rescan();
          const names = (await store.list()).map((r) => r.metadata.name);
          assert.deepEqual(names, change === 'delete' ? ['a'] : ['a', 'b']);
          if (change === 'delete') writeFileSync(FILE(dir, 'b'), policy('b'));
        },
      ),
      { numRuns: 60 },
    );
  });
});
