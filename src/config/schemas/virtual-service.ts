// VirtualService (networking.istio.io/v1, v1beta1, v1alpha3): https://istio.io/latest/docs/reference/config/networking/virtual-service/
import type { VirtualService } from '../generated/types.js';
import { bool, duration, enumOf, int, kindSchema, labels, list, map, obj, percent, port, PortSelector, ref, str, text } from './common.js';
import type { KindDefinition } from './kind.js';

const headerOperations = obj({ set: map(str(), 'headerName'), add: map(str(), 'headerName'), remove: list(str('headerName')) });

const defs = {
  VirtualServiceSpec: obj({
    hosts: list(str('hostOrIp')),
    gateways: list(str('gatewayRef')),
    http: list(ref('HTTPRoute')),
    tls: list(ref('TLSRoute')),
    tcp: list(ref('TCPRoute')),
    exportTo: list(str('exportTo')),
  }),
  Destination: obj({ host: str('host'), subset: str(), port: ref('PortSelector') }, { required: ['host'] }),
  PortSelector,
  HTTPRoute: obj(
    {
      name: str(),
      match: list(ref('HTTPMatchRequest')),
      route: list(ref('HTTPRouteDestination')),
      redirect: ref('HTTPRedirect'),
      directResponse: ref('HTTPDirectResponse'),
      delegate: obj({ name: str(), namespace: str('namespace') }),
      rewrite: ref('HTTPRewrite'),
      timeout: duration,
      retries: ref('HTTPRetry'),
      fault: ref('HTTPFaultInjection'),
      mirror: ref('Destination'),
      mirrors: list(ref('HTTPMirrorPolicy')),
      mirrorPercent: int(0, 100),
      mirrorPercentage: ref('Percent'),
      corsPolicy: ref('CorsPolicy'),
      headers: ref('Headers'),
    },
    {
      atLeastOne: ['route', 'redirect', 'directResponse', 'delegate'],
      exclusive: [['route', 'redirect', 'directResponse', 'delegate'], ['redirect', 'rewrite'], ['mirror', 'mirrors'], ['mirrorPercent', 'mirrorPercentage']],
    },
  ),
  Headers: obj({ request: headerOperations, response: headerOperations }),
  TLSRoute: obj({ match: list(ref('TLSMatchAttributes'), { minItems: 1 }), route: list(ref('RouteDestination')) }, { required: ['match'] }),
  TCPRoute: obj({ match: list(ref('L4MatchAttributes')), route: list(ref('RouteDestination')) }),
  HTTPMatchRequest: obj({
    name: str(),
    uri: ref('StringMatch'),
    scheme: ref('StringMatch'),
    method: ref('StringMatch'),
    authority: ref('StringMatch'),
    headers: map(ref('StringMatch'), 'matchHeaderName'),
    port,
    sourceLabels: labels,
    gateways: list(str('gatewayRef')),
    queryParams: map(ref('StringMatch')),
    ignoreUriCase: bool,
    withoutHeaders: map(ref('StringMatch'), 'matchHeaderName'),
    sourceNamespace: str('namespace'),
    statPrefix: str(),
  }),
  StringMatch: obj({ exact: str(), prefix: str(), regex: str('regex') }, { exclusive: [['exact', 'prefix', 'regex']] }),
  HTTPRouteDestination: obj({ destination: ref('Destination'), weight: int(0, 2147483647), headers: ref('Headers') }, { required: ['destination'] }),
  RouteDestination: obj({ destination: ref('Destination'), weight: int(0, 2147483647) }, { required: ['destination'] }),
  L4MatchAttributes: obj({
    destinationSubnets: list(str('cidr')),
    port,
    sourceSubnet: str('cidr'),
    sourceLabels: labels,
    gateways: list(str('gatewayRef')),
    sourceNamespace: str('namespace'),
  }),
  TLSMatchAttributes: obj(
    {
      sniHosts: list(str('host'), { minItems: 1 }),
      destinationSubnets: list(str('cidr')),
      port,
      sourceLabels: labels,
      gateways: list(str('gatewayRef')),
      sourceNamespace: str('namespace'),
    },
    { required: ['sniHosts'] },
  ),
  HTTPRedirect: obj(
    {
      uri: str(),
      authority: str(),
      port,
      derivePort: enumOf('FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'),
      scheme: str(),
      redirectCode: int(300, 399),
      prefixRewrite: str(),
    },
    { exclusive: [['port', 'derivePort'], ['uri', 'prefixRewrite']] },
  ),
  HTTPDirectResponse: obj(
    { status: int(200, 599), body: obj({ string: str(), bytes: str() }, { exclusive: [['string', 'bytes']] }) },
    { required: ['status'] },
  ),
  HTTPRewrite: obj(
    { uri: str(), authority: str(), uriRegexRewrite: obj({ match: str('regex'), rewrite: str() }) },
    { exclusive: [['uri', 'uriRegexRewrite']] },
  ),
  HTTPRetry: obj({
    attempts: int(0, 2147483647),
    perTryTimeout: duration,
    retryOn: str(),
    retryRemoteLocalities: bool,
    retryIgnorePreviousHosts: bool,
    backoff: duration,
  }),
  CorsPolicy: obj({
    allowOrigin: list(str()),
    allowOrigins: list(ref('StringMatch')),
    allowMethods: list(text()),
    allowHeaders: list(text()),
    exposeHeaders: list(text()),
    maxAge: duration,
    allowCredentials: bool,
    unmatchedPreflights: enumOf('UNSPECIFIED', 'FORWARD', 'IGNORE'),
  }),
  HTTPFaultInjection: obj({
    delay: obj(
      { percent: int(0, 100), fixedDelay: duration, exponentialDelay: duration, percentage: ref('Percent') },
      { exclusive: [['fixedDelay', 'exponentialDelay']], atLeastOne: ['fixedDelay', 'exponentialDelay'] },
    ),
    abort: obj(
      { httpStatus: int(200, 599), grpcStatus: text(), http2Error: text(), percentage: ref('Percent') },
      { exclusive: [['httpStatus', 'grpcStatus', 'http2Error']], atLeastOne: ['httpStatus', 'grpcStatus', 'http2Error'] },
    ),
  }),
  HTTPMirrorPolicy: obj({ destination: ref('Destination'), percentage: ref('Percent') }, { required: ['destination'] }),
  Percent: obj({ value: percent }),
};

export const virtualService: KindDefinition<VirtualService> = {
  kind: 'VirtualService',
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  namespaced: true,
  schema: kindSchema({ kind: 'VirtualService', group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], defs }),
  crossChecks: [],
};
