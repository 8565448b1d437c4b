// `weft up` end to end: real processes, real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { startWeft } from '../helpers/mesh.js';

test('weft up starts the demo mesh, every check passes, and Ctrl-C stops every process with exit 0', { timeout: 120_000 }, async () => {
  const tmp = tempDir();
  try {
    const up = startWeft('up', ['up', '--data-dir', join(tmp.dir, '.weft')]);
    const deadline = performance.now() + 100_000;
    while (!/press Ctrl-C|checks failed/.test(up.output()) && performance.now() < deadline && up.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const out = up.output();
    assert.match(out, /all 6 checks passed/, out);
    for (const edge of ['productpage v1 -> details v1', 'productpage v1 -> reviews v1', 'productpage v1 -> reviews v2', 'reviews v2 -> ratings v1']) {
      assert.match(out, new RegExp(`${edge}\\s+✔ ok\\s+mTLS spiffe://cluster\\.local/ns/default/sa/\\S+ -> spiffe://cluster\\.local/ns/default/sa/\\S+`), edge);
    }
    assert.match(out, /plaintext -> details inbound :\d+\s+✔ ok\s+refused/);
    assert.match(out, /SVID from another CA -> details inbound :\d+\s+✔ ok\s+refused/);
    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0);
    assert.match(up.output(), /stopped\./);
  } finally {
    tmp.cleanup();
  }
});
