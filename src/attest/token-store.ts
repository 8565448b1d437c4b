// The join tokens of one data directory:
//   <dataDir>/tokens/signing-key.pem  0600, the ES256 token-signing key, created on first create()
//   <dataDir>/tokens/tokens.json      0600, one record per token: id and metadata, never the token
//   <dataDir>/tokens/tokens.lock      present only while a process changes tokens.json
//
// Concurrency. Every method is synchronous, so within one process a read-modify-write never
// interleaves with another. Across processes (the CLI creating or revoking while a control plane
// verifies), each change re-reads tokens.json under tokens.lock (O_EXCL), changes one record and
// writes the file back atomically before the lock is released, so no change is lost and a --once
// token is marked used by exactly one verifier. Reads take the in-memory copy and re-read the file
// only when its inode, mtime or size changed. See file-lock.ts for the one accepted race.
import { join } from 'node:path';
import { systemClock, type Clock } from '../lib/clock.js';
import { buildJoinToken, checkJoinTokenOptions, type CreatedJoinToken, type CreateJoinTokenOptions } from './create-join-token.js';
import { JoinTokenStoreError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { CA_FINGERPRINT_PATTERN, TOKEN_ID_PATTERN } from './join-token.js';
import { SigningKeyFile, type TokenSigningKey } from './signing-key.js';
import { serialize, TokenFile, type StoredJoinToken } from './token-file.js';
import {
  authenticateJoinToken,
  joinTokenState,
  judgeJoinTokenRecord,
  type JoinTokenExpectation,
  type JoinTokenState,
  type VerifiedJoinToken,
} from './verify-join-token.js';

/** A token as `list()` and `revoke()` show it: metadata only, times in ISO 8601. */
export interface JoinTokenRecord {
  readonly id: string;
  readonly spiffeId: string;
  readonly caFingerprint: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly once: boolean;
  /** When a --once token was used; absent otherwise (reusable tokens are not tracked per use). */
  readonly usedAt?: string;
  readonly revokedAt?: string;
  /** At the store clock's now: revoked beats used beats expired. */
  readonly state: JoinTokenState;
}

/** Options of `JoinTokenStore.open`. */
export interface JoinTokenStoreOptions {
  /** Judges expiry and stamps records; the system clock unless a test freezes one. */
  clock?: Clock;
}

/**
 * Issues, lists, revokes and verifies the join tokens of a data directory.
 *
 * @example
 * const store = JoinTokenStore.open('.weft');
 * const { token } = store.create({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'web', caFingerprint });
 * store.verify(token, { trustDomain: 'cluster.local', caFingerprint }).spiffeId; // 'spiffe://cluster.local/ns/default/sa/web'
 */
export class JoinTokenStore {
  readonly dataDir: string;
  readonly #clock: Clock;
  readonly #file: TokenFile;
  readonly #key: SigningKeyFile;
  readonly #lockPath: string;

  private constructor(dataDir: string, clock: Clock) {
    this.dataDir = dataDir;
    this.#clock = clock;
    const dir = join(dataDir, 'tokens');
    this.#file = new TokenFile(join(dir, 'tokens.json'));
    this.#key = new SigningKeyFile(join(dir, 'signing-key.pem'));
    this.#lockPath = join(dir, 'tokens.lock');
  }

  /**
   * Opens the token store of `dataDir`. Nothing is created until the first `create()`; existing
   * files are loaded now, so a corrupt store fails at start rather than at first contact.
   *
   * @throws JoinTokenStoreError `WEFT_TOKEN_STORE_CORRUPT`
   */
  static open(dataDir: string, opts: JoinTokenStoreOptions = {}): JoinTokenStore {
    if (typeof dataDir !== 'string' || dataDir.length === 0) throw new TypeError('"dataDir" must be a non-empty string');
    const store = new JoinTokenStore(dataDir, opts.clock ?? systemClock);
    store.#key.current();
    store.#file.current();
    return store;
  }

  /**
   * Creates a token for spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>, records its id
   * and metadata, and returns the token text, which is stored nowhere: hand it to the workload.
   *
   * @throws TypeError for bad option types or a caFingerprint not 'sha256:<64 lowercase hex>';
   *   SpiffeIdError (`WEFT_SPIFFE_ID_INVALID`, `WEFT_TRUST_DOMAIN_INVALID`) for a namespace, service
   *   account or trust domain that cannot form a SPIFFE ID; JoinTokenStoreError
   *   `WEFT_TOKEN_TTL_INVALID` for a TTL not in (0, 30d], `WEFT_TOKEN_STORE_BUSY`/`_CORRUPT`.
   */
  create(opts: CreateJoinTokenOptions): CreatedJoinToken {
    checkJoinTokenOptions(opts);
    return withFileLock(this.#lockPath, () => {
      const key = this.#key.ensure();
      const { created, record } = buildJoinToken(opts, this.#clock.now(), key);
      const tokens = this.#file.fresh();
      tokens.set(record.id, record);
      this.#file.write(tokens);
      return created;
    });
  }

  /** Every token of the store, oldest first, with its state now. */
  list(): JoinTokenRecord[] {
    const now = this.#clock.now();
    return [...this.#file.current().values()].map((t) => toRecord(t, now));
  }

  /**
   * Revokes a token so it is refused from now on. Idempotent: revoking a revoked token changes
   * nothing and returns it with its first revocation time. Used and expired tokens can be revoked
   * too (the record then says so).
   *
   * @throws JoinTokenStoreError `WEFT_TOKEN_NOT_FOUND` when no token has that id.
   */
  revoke(id: string): JoinTokenRecord {
    if (typeof id !== 'string') throw new TypeError('"id" must be a string');
    return withFileLock(this.#lockPath, () => {
      const tokens = this.#file.fresh();
      const token = tokens.get(id);
      if (token === undefined) throw notFound(id);
      const now = this.#clock.now();
      if (token.revokedAt === undefined) {
        token.revokedAt = now;
        this.#file.write(tokens);
      }
      return toRecord(token, now);
    });
  }

  /**
   * Verifies a join token presented by a workload and returns the identity it proves. A --once
   * token is marked used, and that is on disk, before this returns; any later verify (in any
   * process sharing the data directory) refuses it as reused.
   *
   * Cost: one ES256 verification (~70 us here) plus a stat of tokens.json; a --once token adds a
   * locked re-read and an fsynced write.
   *
   * @throws JoinTokenError with code MALFORMED, FOREIGN, FORGED, UNKNOWN, EXPIRED, REVOKED or
   *   REUSED; its message names the token id and the reason, never the token.
   * @throws TypeError when `expect` is not a trust domain and a CA fingerprint.
   */
  verify(token: string, expect: JoinTokenExpectation): VerifiedJoinToken {
    if (typeof expect !== 'object' || expect === null || typeof expect.trustDomain !== 'string' || typeof expect.caFingerprint !== 'string') {
      throw new TypeError('"expect" must be { trustDomain, caFingerprint }');
    }
    if (!CA_FINGERPRINT_PATTERN.test(expect.caFingerprint)) throw new TypeError('"expect.caFingerprint" must be sha256:<64 lowercase hex>');
    const { claims } = authenticateJoinToken(token, expect, (kid) => this.#keyFor(kid));
    judgeJoinTokenRecord(this.#file.current().get(claims.jti), claims, this.#clock.now());
    if (claims.once) {
      withFileLock(this.#lockPath, () => {
        // Re-read under the lock: another process may have used or revoked it since.
        const tokens = this.#file.fresh();
        const record = tokens.get(claims.jti);
        const now = this.#clock.now();
        judgeJoinTokenRecord(record, claims, now);
        record!.usedAt = now;
        this.#file.write(tokens);
      });
    }
    return { tokenId: claims.jti, spiffeId: claims.sub };
  }

  /** The signing key for `kid`: the cached one when it matches, else whatever is on disk now. */
  #keyFor(kid: string): TokenSigningKey | undefined {
    const cached = this.#key.cached;
    if (cached !== undefined && cached.kid === kid) return cached;
    return this.#key.current();
  }
}

function toRecord(t: Readonly<StoredJoinToken>, nowMs: number): JoinTokenRecord {
  return { ...(serialize(t) as Omit<JoinTokenRecord, 'state'>), state: joinTokenState(t, nowMs) };
}

/** An unknown id. A text that looks like a token rather than an id is not echoed: it may be a secret. */
function notFound(id: string): JoinTokenStoreError {
  if (TOKEN_ID_PATTERN.test(id)) return new JoinTokenStoreError('WEFT_TOKEN_NOT_FOUND', `no join token has id ${id} (see weft token list)`);
  return new JoinTokenStoreError('WEFT_TOKEN_NOT_FOUND', 'no join token has that id: a token id is 22 base64url characters (see weft token list), not the token itself');
}
