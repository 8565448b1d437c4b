// The token-signing key of a data directory: an ECDSA P-256 key in PKCS#8 PEM, mode 0600, created
// on first use. Its `kid` is the RFC 7638 JWK thumbprint (SHA-256) of the public key.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { writeSecretFile } from '../lib/files.js';
import { JoinTokenStoreError } from './errors.js';

/** A loaded token-signing key with its public half and thumbprint, ready for sign and verify. */
export interface TokenSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** RFC 7638 thumbprint of the public JWK, base64url: the `kid` of every token it signs. */
  readonly kid: string;
}

/**
 * RFC 7638 §3.2: the thumbprint hashes the required members only, in lexicographic order, with no
 * whitespace: for an EC key `{"crv":…,"kty":"EC","x":…,"y":…}`.
 */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

function fromPrivateKey(privateKey: KeyObject): TokenSigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, kid: jwkThumbprint(publicKey) };
}

/**
 * The key file at `path`, re-read only when the file changed (new inode, mtime or size), so a key
 * created by another process (the CLI) is picked up without a restart.
 */
export class SigningKeyFile {
  readonly path: string;
  #key: TokenSigningKey | undefined;
  #stamp = '';

  constructor(path: string) {
    this.path = path;
  }

  /** The key most recently loaded, without looking at the disk. */
  get cached(): TokenSigningKey | undefined {
    return this.#key;
  }

  /**
   * The key on disk now, or undefined when there is none yet.
   *
   * @throws JoinTokenStoreError `WEFT_TOKEN_STORE_CORRUPT` when the file is not a P-256 private key.
   */
  current(): TokenSigningKey | undefined {
    const st = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    const stamp = st === undefined ? '' : `${st.ino}:${st.mtimeNs}:${st.size}`;
    if (stamp === this.#stamp) return this.#key;
    this.#key = st === undefined ? undefined : this.#load();
    this.#stamp = stamp;
    return this.#key;
  }

  /** The key on disk, generating and writing a new one (0600, atomically) when there is none. Call under the store lock. */
  ensure(): TokenSigningKey {
    const existing = this.current();
    if (existing !== undefined) return existing;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeSecretFile(this.path, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    return this.current() ?? fromPrivateKey(privateKey);
  }

  #load(): TokenSigningKey {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(readFileSync(this.path));
    } catch (err) {
      throw new JoinTokenStoreError('WEFT_TOKEN_STORE_CORRUPT', `cannot load the token-signing key ${this.path}: not a PEM private key`, { cause: err, path: this.path });
    }
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new JoinTokenStoreError('WEFT_TOKEN_STORE_CORRUPT', `cannot use the token-signing key ${this.path}: it must be an ECDSA P-256 key`, { path: this.path });
    }
    return fromPrivateKey(privateKey);
  }
}
