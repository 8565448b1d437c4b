import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { ServiceRegistry } from '../registry/index.js';
import { RegistryFile } from './registry-file.js';

const TD = 'cluster.local';
const registration = (port: number) => ({ namespace: 'default', services: ['details'], ports: [], labels: { app: 'details' }, address: '127.0.0.1', inboundPort: port });

describe('registry.json', () => {
  let dir: string;
  let logs: { event: string; fields: Record<string, unknown> }[];
  const log = (event: string, fields: Record<string, unknown>) => logs.push({ event, fields });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-registry-file-'));
    logs = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a failing write is logged and retried, never thrown; it succeeds once the filesystem allows', async () => {
    // A regular file where the data directory should be: every write fails (ENOTDIR/EEXIST), as
    // EMFILE would, without needing a low ulimit.
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, '');
    const registry = new ServiceRegistry({ trustDomain: TD });
    const file = new RegistryFile(join(blocked, 'registry.json'), registry, log);
    registry.register(registration(1), `spiffe://${TD}/ns/default/sa/details`);
    file.saveSoon();
    const deadline = performance.now() + 30_000;
    while (logs.filter((l) => l.event === 'registry.save_failed').length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(logs.slice(0, 2).map((l) => [l.event, l.fields.attempt]), [['registry.save_failed', 1], ['registry.save_failed', 2]]);
    rmSync(blocked);
    while (!logs.some((l) => l.event === 'registry.save_recovered') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    file.close();
    const saved = JSON.parse(readFileSync(join(blocked, 'registry.json'), 'utf8')) as { workloads: unknown[] };
    assert.equal(saved.workloads.length, 1);
  });

  test('restore gives each saved registration a fresh lease; a missing file is a first start, a bad one is logged', () => {
    const clock = new FrozenClock();
    const before = new ServiceRegistry({ trustDomain: TD, clock, leaseMs: 3_000 });
    before.register(registration(1), `spiffe://${TD}/ns/default/sa/details`);
    const path = join(dir, 'registry.json');
    const saving = new RegistryFile(path, before, log);
    saving.saveSoon();
    saving.flush();
    clock.advance(3_600_000); // an hour-long outage
    const after = new ServiceRegistry({ trustDomain: TD, clock, leaseMs: 3_000 });
    new RegistryFile(path, after, log).restore();
    assert.equal(after.workloads()[0]?.leaseExpiresAt, clock.now() + 3_000 + 10_000);
    new RegistryFile(join(dir, 'none.json'), after, log).restore();
    writeFileSync(join(dir, 'bad.json'), '{"workloads": ');
    new RegistryFile(join(dir, 'bad.json'), after, log).restore();
    assert.deepEqual(logs.map((l) => l.event), ['registry.restored', 'registry.restore_failed']);
  });
});
