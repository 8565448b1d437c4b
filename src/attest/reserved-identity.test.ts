import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ReservedIdentityError } from './errors.js';
import { refuseReservedIdentity } from './create-join-token.js';
import { CA, tempStore, TD } from './testing/fixtures.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));
const ADMIN = `spiffe://${TD}/ns/ops/sa/admin`;

describe('join tokens for reserved identities', () => {
  const cases: { name: string; namespace: string; serviceAccount: string; admins: string[]; refused: RegExp | false }[] = [
    { name: 'fail/the control plane identity, whatever MeshConfig says (nothing stored)', namespace: 'weft-system', serviceAccount: 'control-plane', admins: [], refused: /control plane's own identity/ },
    { name: 'fail/an admin identity MeshConfig lists', namespace: 'ops', serviceAccount: 'admin', admins: [ADMIN], refused: /admin identity \(MeshConfig spec.adminIdentities\)/ },
    { name: 'ok/the same service account in another namespace', namespace: 'default', serviceAccount: 'admin', admins: [ADMIN], refused: false },
    { name: 'ok/another service account of weft-system', namespace: 'weft-system', serviceAccount: 'backup', admins: [], refused: false },
    { name: 'ok/an identity that is an admin of another trust domain only', namespace: 'ops', serviceAccount: 'admin', admins: ['spiffe://other.org/ns/ops/sa/admin'], refused: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = tempStore();
      cleanups.push(env.cleanup);
      const opts = { trustDomain: TD, namespace: c.namespace, serviceAccount: c.serviceAccount, caFingerprint: CA, adminIdentities: c.admins };
      if (c.refused === false) {
        assert.equal(env.store.create(opts).spiffeId, `spiffe://${TD}/ns/${c.namespace}/sa/${c.serviceAccount}`);
        return;
      }
      assert.throws(() => env.store.create(opts), (err: Error) => err instanceof ReservedIdentityError && err.code === 'WEFT_TOKEN_RESERVED_IDENTITY' && (c.refused as RegExp).test(err.message));
      assert.deepEqual(env.store.list(), []);
    });
  }

  test('fail/the check a control plane makes on a presented token refuses the same identities', () => {
    assert.throws(() => refuseReservedIdentity(`spiffe://${TD}/ns/weft-system/sa/control-plane`, TD, []), { code: 'WEFT_TOKEN_RESERVED_IDENTITY' });
    assert.throws(() => refuseReservedIdentity(ADMIN, TD, [ADMIN]), { code: 'WEFT_TOKEN_RESERVED_IDENTITY' });
    refuseReservedIdentity(ADMIN, TD, []);
  });
});
