// Envoy's x-forwarded-client-cert (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert):
// `By` is the URI SAN of the proxy's own certificate, `Hash` the SHA-256 of the client's DER
// certificate in hex, `URI` the client's URI SAN. SPIFFE IDs hold none of `,;="`, so no quoting.
import type { PeerIdentity } from '../peer-identity.js';

/** The XFCC value for requests of one inbound connection; computed once per connection. */
export function xfccValue(ownSpiffeId: string, peer: PeerIdentity): string {
  return `By=${ownSpiffeId};Hash=${peer.certHash};URI=${peer.spiffeId}`;
}
