// Gateway (networking.istio.io/v1, v1beta1, v1alpha3): https://istio.io/latest/docs/reference/config/networking/gateway/
import type { Gateway } from '../generated/types.js';
import type { PathIssue } from '../schema-issues.js';
import { bool, enumOf, kindSchema, labels, list, obj, port, ref, str, text } from './common.js';
import { arr, pathIssue, type KindDefinition } from './kind.js';

const tlsProtocol = enumOf('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3');

const defs = {
  GatewaySpec: obj({ servers: list(ref('Server')), selector: labels }),
  Server: obj(
    {
      port: ref('GatewayPort'),
      bind: str(),
      hosts: list(str('gatewayHost'), { minItems: 1 }),
      tls: ref('ServerTLSSettings'),
      defaultEndpoint: str(),
      name: str(),
    },
    { required: ['port', 'hosts'] },
  ),
  GatewayPort: obj({ number: port, protocol: str('protocol'), name: str('portName'), targetPort: port }, { required: ['number', 'protocol', 'name'] }),
  ServerTLSSettings: obj(
    {
      httpsRedirect: bool,
      mode: enumOf('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'),
      serverCertificate: str(),
      privateKey: str(),
      caCertificates: str(),
      caCrl: str(),
      credentialName: str(),
      credentialNames: list(text(), { minItems: 1, maxItems: 2 }),
      caCertCredentialName: str(),
      tlsCertificates: list(obj({ serverCertificate: str(), privateKey: str(), caCertificates: str() }), { minItems: 1, maxItems: 2 }),
      subjectAltNames: list(text()),
      verifyCertificateSpki: list(text()),
      verifyCertificateHash: list(text()),
      minProtocolVersion: tlsProtocol,
      maxProtocolVersion: tlsProtocol,
      cipherSuites: list(text()),
      insecureSkipVerify: bool,
    },
    { exclusive: [['credentialName', 'credentialNames', 'tlsCertificates']] },
  ),
};

/** Istio: port names in a Gateway's servers must be unique when their numbers differ. */
function uniquePortNames(g: Gateway): PathIssue[] {
  const out: PathIssue[] = [];
  const seen = new Map<string, { index: number; number: unknown }>();
  arr(g.spec.servers).forEach((server, i) => {
    const name = server?.port?.name;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, { index: i, number: server.port.number });
    else if (first.number !== server.port.number) {
      const message = `duplicate port name ${JSON.stringify(name)}: servers[${first.index}] uses it for port ${String(first.number)}`;
      out.push(pathIssue(['spec', 'servers', i, 'port', 'name'], 'WEFT_CONFIG_DUPLICATE_ENTRY', message));
    }
  });
  return out;
}

/** Istio: a server that terminates TLS (SIMPLE, MUTUAL, OPTIONAL_MUTUAL) needs a certificate. */
function serverCertificates(g: Gateway): PathIssue[] {
  const out: PathIssue[] = [];
  arr(g.spec.servers).forEach((server, i) => {
    const tls = server?.tls;
    if (tls?.mode !== 'SIMPLE' && tls?.mode !== 'MUTUAL' && tls?.mode !== 'OPTIONAL_MUTUAL') return;
    const hasFiles = tls.serverCertificate !== undefined && tls.privateKey !== undefined;
    if (!hasFiles && tls.credentialName === undefined && tls.credentialNames === undefined && tls.tlsCertificates === undefined) {
      const message = `mode ${tls.mode} needs serverCertificate and privateKey, credentialName(s) or tlsCertificates`;
      out.push(pathIssue(['spec', 'servers', i, 'tls', 'mode'], 'WEFT_CONFIG_MISSING_DEPENDENCY', message));
    }
  });
  return out;
}

export const gateway: KindDefinition<Gateway> = {
  kind: 'Gateway',
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  namespaced: true,
  schema: kindSchema({ kind: 'Gateway', group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], defs }),
  crossChecks: [uniquePortNames, serverCertificates],
};
