// The admin token: created once at the control plane's first start, stored 0600 in the data
// directory, compared in constant time. Only its hash is kept in memory after loading.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSecretFile } from '../../lib/files.js';

const PREFIX = 'weft-admin-';

export class AdminToken {
  readonly #hash: Buffer;
  /** The token text: handed to admin.conf, never logged. */
  readonly token: string;

  private constructor(token: string) {
    this.token = token;
    this.#hash = createHash('sha256').update(token).digest();
  }

  /** Loads `admin-token` from the data directory, creating it (0600) on first start. */
  static openOrCreate(dataDir: string): AdminToken {
    const file = join(dataDir, 'admin-token');
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8').trim();
      if (!text.startsWith(PREFIX) || text.length < PREFIX.length + 32) throw new Error(`${file}: not a weft admin token; remove it to have a new one created`);
      return new AdminToken(text);
    }
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    writeSecretFile(file, `${token}\n`);
    return new AdminToken(token);
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(createHash('sha256').update(candidate).digest(), this.#hash);
  }
}
