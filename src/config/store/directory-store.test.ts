import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { parseResources } from '../validate.js';
import type { Resource } from '../generated/types.js';
import { DirectoryConfigStore } from './directory-store.js';
import type { StoreEvent } from './types.js';

const YAML = (methods: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: a
  namespace: shop
spec:
  rules:
  - to:
    - operation:
        methods: [${methods}]
`;

function parse(text: string): Resource[] {
  const r = parseResources(text, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const FILE = (dir: string) => join(dir, 'resources', 'AuthorizationPolicy', 'shop', 'a.yaml');
const methodsOf = (r: unknown) => (r as { spec: { rules: { to: { operation: { methods: string[] } }[] }[] } }).spec.rules[0]!.to[0]!.operation.methods;

describe('directory store', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'weft-dirstore-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('persists across reopen with versions, timestamps and the revision; files are 0600', async () => {
    let store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    await store.apply(parse(YAML('GET')));
    await store.apply(parse(YAML('PUT')));
    const before = await store.get('AuthorizationPolicy/shop/a');
    await store.close();
    assert.equal(statSync(FILE(dir)).mode & 0o777, 0o600);
    store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    assert.deepEqual(await store.get('AuthorizationPolicy/shop/a'), before);
    assert.equal(await store.revision(), 2);
    await store.close();
  });

  test('a second process on the same directory is refused; a dead owner\'s lock is taken over', async () => {
    const store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    writeFileSync(join(dir, 'other.lock'), '');
    await store.close();
    writeFileSync(join(dir, 'store.lock'), '1\n'); // pid 1 runs (init): a live foreign owner
    await assert.rejects(DirectoryConfigStore.open(dir), (err: Error & { code?: string }) => err.code === 'WEFT_STORE_LOCKED' && /process 1/.test(err.message));
    writeFileSync(join(dir, 'store.lock'), '999999999\n'); // no such process
    const taken = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    await taken.close();
    assert.equal(existsSync(join(dir, 'store.lock')), false);
  });

  test('a valid hand edit becomes a new revision; the store rewrites the file with its metadata', async () => {
    const store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    const events: StoreEvent[] = [];
    store.watch((e) => events.push(e));
    await store.apply(parse(YAML('GET')));
    writeFileSync(FILE(dir), YAML('DELETE'));
    store.rescan();
    assert.deepEqual(methodsOf(await store.get('AuthorizationPolicy/shop/a')), ['DELETE']);
    assert.deepEqual(events.map((e) => `${e.type}:${'source' in e ? e.source : ''}`), ['added:api', 'modified:file']);
    assert.match(readFileSync(FILE(dir), 'utf8'), /resourceVersion: "2"/);
    store.rescan();
    assert.equal(events.length, 2, 'the store\'s own rewrite is not a hand edit');
    await store.close();
  });

  test('an invalid hand edit is reported with its line, and the last good version stays in force, also after a restart', async () => {
    let store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    await store.apply(parse(YAML('GET')));
    const events: StoreEvent[] = [];
    store.watch((e) => events.push(e));
    writeFileSync(FILE(dir), YAML('GET').replace('rules:', 'rulez:'));
    store.rescan();
    store.rescan();
    assert.equal(events.length, 1, 'reported once, not at every rescan');
    const ev = events[0]!;
    assert.equal(ev.type, 'invalid');
    assert.ok(ev.type === 'invalid' && ev.issues.some((i) => i.line === 7 && /rulez/.test(i.message)));
    assert.deepEqual(methodsOf(await store.get('AuthorizationPolicy/shop/a')), ['GET']);
    await store.close();
    store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    assert.deepEqual(methodsOf(await store.get('AuthorizationPolicy/shop/a')), ['GET'], 'the committed copy survives a restart');
    await store.close();
  });

  test('a file for another key, or with two resources, is refused; a deleted file deletes the resource', async () => {
    const store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    await store.apply(parse(YAML('GET')));
    const events: StoreEvent[] = [];
    store.watch((e) => events.push(e));
    writeFileSync(FILE(dir), YAML('GET').replace('name: a', 'name: b'));
    store.rescan();
    assert.ok(events[0]?.type === 'invalid' && /holds AuthorizationPolicy\/shop\/b/.test(events[0].issues[0]!.message));
    writeFileSync(FILE(dir), `${YAML('GET')}---\n${YAML('PUT')}`);
    store.rescan();
    assert.ok(events[1]?.type === 'invalid');
    unlinkSync(FILE(dir));
    store.rescan();
    assert.equal(events[2]?.type, 'deleted');
    assert.equal(await store.get('AuthorizationPolicy/shop/a'), undefined);
    await store.close();
  });

  test('the watch picks a hand edit up by itself', async () => {
    const store = await DirectoryConfigStore.open(dir, { rescanMs: 200 });
    await store.apply(parse(YAML('GET')));
    const seen = new Promise<StoreEvent>((resolve) => store.watch(resolve));
    writeFileSync(FILE(dir), YAML('PATCH'));
    let timer: NodeJS.Timeout | undefined;
    const ev = await Promise.race([seen, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no event within 10 s')), 10_000)))]);
    clearTimeout(timer);
    assert.equal(ev.type, 'modified');
    await store.close();
  });

  test('an interrupted change is completed from its journal at the next open', async () => {
    const store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    await store.apply(parse(YAML('GET')));
    await store.close();
    // What a process killed right after writing the journal leaves behind.
    const text = YAML('PUT').replace('namespace: shop', 'namespace: shop\n  resourceVersion: "2"\n  creationTimestamp: "2026-01-01T00:00:00.000Z"\n  generation: 2');
    writeFileSync(join(dir, 'journal.json'), JSON.stringify({ revision: 2, puts: [{ path: 'AuthorizationPolicy/shop/a.yaml', text }], removes: [] }));
    const reopened = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
    assert.deepEqual(methodsOf(await reopened.get('AuthorizationPolicy/shop/a')), ['PUT']);
    assert.equal(await reopened.revision(), 2);
    assert.equal(existsSync(join(dir, 'journal.json')), false);
    await reopened.close();
    writeFileSync(join(dir, 'journal.json'), '{"revision": 3, "pu');
    await assert.rejects(DirectoryConfigStore.open(dir), { code: 'WEFT_STORE_CORRUPT' });
  });
});
