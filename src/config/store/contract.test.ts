// One contract, every store: the same behaviour from the memory store, the directory store, and
// any store added later (etcd).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FrozenClock } from '../../lib/clock.js';
import type { Resource } from '../generated/types.js';
import { parseResources } from '../validate.js';
import { DirectoryConfigStore } from './directory-store.js';
import { MemoryConfigStore } from './memory-store.js';
import type { ConfigStore, StoreEvent } from './types.js';

function policy(name: string, ns = 'shop', methods = ['GET']): Resource {
  const r = parseResources(
    JSON.stringify({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: ns }, spec: { rules: [{ to: [{ operation: { methods } }] }] } }),
    't.json',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value[0]!;
}

const factories: Array<[string, () => Promise<{ store: ConfigStore; cleanup: () => Promise<void> }>]> = [
  ['memory', async () => {
    const store = new MemoryConfigStore({ clock: new FrozenClock(Date.UTC(2026, 0, 1)) });
    return { store, cleanup: () => store.close() };
  }],
  ['directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-store-'));
    const store = await DirectoryConfigStore.open(dir, { clock: new FrozenClock(Date.UTC(2026, 0, 1)), rescanMs: 60_000 });
    return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }],
];

for (const [name, make] of factories) {
  describe(`${name} store`, () => {
    test('created, unchanged, configured; versions and generation move only on change', async () => {
      const { store, cleanup } = await make();
      try {
        let c = await store.apply([policy('a'), policy('b')]);
        assert.deepEqual(c.results.map((r) => r.action), ['created', 'created']);
        assert.equal(c.revision, 1);
        assert.equal(c.results[0]!.after!.metadata.resourceVersion, '1');
        assert.equal(c.results[0]!.after!.metadata.creationTimestamp, '2026-01-01T00:00:00.000Z');
        c = await store.apply([policy('a')]);
        assert.equal(c.results[0]!.action, 'unchanged');
        assert.equal(await store.revision(), 1, 'a no-op takes no revision');
        c = await store.apply([policy('a', 'shop', ['GET', 'HEAD'])]);
        assert.equal(c.results[0]!.action, 'configured');
        const a = await store.get('AuthorizationPolicy/shop/a');
        assert.equal(a!.metadata.resourceVersion, '2');
        assert.equal(a!.metadata.generation, 2);
        assert.equal((await store.get('AuthorizationPolicy/shop/b'))!.metadata.resourceVersion, '1');
        assert.deepEqual((await store.list({ namespace: 'shop' })).map((r) => r.metadata.name), ['a', 'b']);
        assert.deepEqual(await store.list({ kind: 'PeerAuthentication' }), []);
      } finally {
        await cleanup();
      }
    });

    test('a stale expected version refuses the whole change', async () => {
      const { store, cleanup } = await make();
      try {
        await store.apply([policy('a'), policy('b')]);
        await store.apply([policy('a', 'shop', ['PUT'])]);
        await assert.rejects(
          store.apply([policy('a', 'shop', ['POST']), policy('c')], { expectedResourceVersions: new Map([['AuthorizationPolicy/shop/a', '1']]) }),
          (err: Error & { code?: string }) => err.code === 'WEFT_STORE_CONFLICT' && /modified/.test(err.message),
        );
        assert.equal(await store.get('AuthorizationPolicy/shop/c'), undefined, 'nothing of the refused change was written');
        await assert.rejects(store.delete(['AuthorizationPolicy/shop/b'], { expectedResourceVersions: new Map([['AuthorizationPolicy/shop/b', '7']]) }), { code: 'WEFT_STORE_CONFLICT' });
        const ok = await store.apply([policy('a', 'shop', ['POST'])], { expectedResourceVersions: new Map([['AuthorizationPolicy/shop/a', '2']]) });
        assert.equal(ok.results[0]!.action, 'configured');
      } finally {
        await cleanup();
      }
    });

    test('dry runs change nothing; a delete of an unknown key deletes nothing', async () => {
      const { store, cleanup } = await make();
      try {
        const dry = await store.apply([policy('a')], { dryRun: true });
        assert.equal(dry.results[0]!.action, 'created');
        assert.equal(await store.revision(), 0);
        assert.deepEqual(await store.list(), []);
        await store.apply([policy('a'), policy('b')]);
        await assert.rejects(store.delete(['AuthorizationPolicy/shop/a', 'AuthorizationPolicy/shop/zz']), { code: 'WEFT_STORE_NOT_FOUND' });
        assert.equal((await store.list()).length, 2);
        await store.delete(['AuthorizationPolicy/shop/a'], { dryRun: true });
        assert.equal((await store.list()).length, 2);
        const del = await store.delete(['AuthorizationPolicy/shop/a']);
        assert.deepEqual(del.results.map((r) => r.action), ['deleted']);
        assert.equal(del.revision, 2);
      } finally {
        await cleanup();
      }
    });

    test('watch sees every change in order with increasing revisions', async () => {
      const { store, cleanup } = await make();
      try {
        const events: StoreEvent[] = [];
        let changes = 0;
        store.watch((e) => events.push(e));
        store.onChange(() => changes++);
        await store.apply([policy('a')]);
        await store.apply([policy('a')]);
        await store.apply([policy('a', 'shop', ['PUT']), policy('b')]);
        await store.delete(['AuthorizationPolicy/shop/a']);
        assert.deepEqual(events.map((e) => `${e.type} ${'key' in e ? e.key : ''} ${e.revision}`), [
          'added AuthorizationPolicy/shop/a 1',
          'modified AuthorizationPolicy/shop/a 2',
          'added AuthorizationPolicy/shop/b 2',
          'deleted AuthorizationPolicy/shop/a 3',
        ]);
        assert.equal(changes, 3);
      } finally {
        await cleanup();
      }
    });

    test('any sequence of applies and deletes leaves the state a model predicts', async () => {
      const names = ['a', 'b', 'c'];
      const op = fc.oneof(
        fc.record({ kind: fc.constant('apply' as const), name: fc.constantFrom(...names), method: fc.constantFrom('GET', 'PUT') }),
        fc.record({ kind: fc.constant('delete' as const), name: fc.constantFrom(...names) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
          const { store, cleanup } = await make();
          try {
            const model = new Map<string, string>();
            let revision = 0;
            for (const o of ops) {
              const k = `AuthorizationPolicy/shop/${o.name}`;
              if (o.kind === 'apply') {
                const r = await store.apply([policy(o.name, 'shop', [o.method])]);
                if (model.get(k) !== o.method) revision++;
                model.set(k, o.method);
                assert.equal(r.revision, revision);
              } else if (model.has(k)) {
                await store.delete([k]);
                model.delete(k);
                revision++;
              } else {
                await assert.rejects(store.delete([k]));
              }
            }
            const listed = (await store.list()).map((r) => `${r.metadata.name}:${(r.spec as { rules: { to: { operation: { methods: string[] } }[] }[] }).rules[0]!.to[0]!.operation.methods[0]}`);
            assert.deepEqual(listed, [...model].sort().map(([k, m]) => `${k.split('/')[2]}:${m}`));
            assert.equal(await store.revision(), revision);
          } finally {
            await cleanup();
          }
        }),
        { numRuns: name === 'directory' ? 25 : 100 },
      );
    });
  });
}
