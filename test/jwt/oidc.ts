// A real OpenID provider (oidc-provider) on 127.0.0.1 for the JWT system tests. It issues JWT
// access tokens (RFC 9068) with the client_credentials grant and a resource indicator, and serves
// its signing keys at jwks_uri. `restart` brings it back on the same port with another key, as an
// issuer rotating its key does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { request } from 'undici';

export const RESOURCE = 'urn:weft:httpbin';
const CLIENT = { id: 'orders', secret: 'orders-secret-orders-secret-0123' };

export interface ProviderKey {
  readonly alg: 'ES256' | 'RS256';
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly privateJwk: JWK;
}

export async function providerKey(alg: 'ES256' | 'RS256', kid: string): Promise<ProviderKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, privateJwk: { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' } };
}

export class OpenIdProvider {
  readonly #server: Server;
  #port = 0;
  #key: ProviderKey | undefined;
  /** Requests for the JWKS document, counted at the server. */
  jwksHits = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(key: ProviderKey): Promise<OpenIdProvider> {
    const p = new OpenIdProvider(createServer());
    await p.#listen(key, 0);
    return p;
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  /** A JWT access token for the resource, from the token endpoint. */
  async accessToken(): Promise<string> {
    const res = await request(`${this.issuer}/token`, {
      method: 'POST',
      reset: true,
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource: RESOURCE }).toString(),
    });
    const body = (await res.body.json()) as { access_token?: string; error_description?: string };
    if (res.statusCode !== 200 || body.access_token === undefined) throw new Error(`token endpoint: ${res.statusCode} ${body.error_description}`);
    return body.access_token;
  }

  /** Its public JWKS as served. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const res = await request(this.jwksUri, { reset: true });
    this.jwksHits--; // the test's own look does not count
    return (await res.body.json()) as { keys: JWK[] };
  }

  /** A token signed with the provider's current key, with exactly `claims` (for tokens its token endpoint would not issue). */
  sign(claims: Record<string, unknown>): Promise<string> {
    const key = this.#key!;
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
  }

  /** Stops and starts again on the same port with `key` as its only signing key. */
  async restart(key: ProviderKey): Promise<void> {
    await this.stop();
    await this.#listen(key, this.#port);
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.removeAllListeners('request');
  }

  async #listen(key: ProviderKey, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#key = key;
    const provider = new Provider(this.issuer, configuration(key));
    const handle = provider.callback();
    this.#server.on('request', (req, res) => {
      if (req.url === '/jwks') this.jwksHits++;
      handle(req, res);
    });
  }
}

function configuration(key: ProviderKey): Record<string, unknown> {
  return {
    clients: [{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      id_token_signed_response_alg: key.alg,
    }],
    jwks: { keys: [key.privateJwk] },
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'read', audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: key.alg } } }),
      },
    },
  };
}
