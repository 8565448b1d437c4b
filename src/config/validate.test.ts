// One failing case per validation rule: each asserts the exact file:line:column, field path,
// message and code weft reports, as `formatIssue` prints them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatIssue } from './issue.js';
import { parseResources } from './validate.js';

function issues(text: string): string[] {
  const result = parseResources(text, 'test.yaml');
  assert.equal(result.ok, false, 'expected the input to be refused');
  return result.ok ? [] : result.issues.map(formatIssue);
}

const AP = (spec: string, meta = '  name: p\n  namespace: foo\n') =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n${meta}spec:\n${spec}`;

interface Case {
  readonly name: string;
  readonly text: string;
  readonly expect: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: 'fail/syntax: a YAML error is reported where the parser found it',
    text: 'apiVersion: security.istio.io/v1\nkind: [AuthorizationPolicy\n',
    expect: ['test.yaml:3:1: flow sequence in block collection must be sufficiently indented and end with a ] (WEFT_CONFIG_SYNTAX)'],
  },
  {
    name: 'fail/syntax: a duplicate map key',
    text: 'apiVersion: v1\nkind: X\nkind: Y\n',
    expect: ['test.yaml:3:1: map keys must be unique (WEFT_CONFIG_SYNTAX)'],
  },
  {
    name: 'fail/type: a string where a list belongs',
    text: AP('  rules:\n  - from:\n    - source:\n        principals: cluster.local/ns/default/sa/sleep\n'),
    expect: ['test.yaml:10:21: spec.rules[0].from[0].source.principals: must be a list, got a string (WEFT_CONFIG_WRONG_TYPE)'],
  },
  {
    name: 'fail/type: a document that is not a mapping',
    text: '- a\n- b\n',
    expect: ['test.yaml:1:1: a resource must be a mapping with apiVersion, kind, metadata and spec; got a list (WEFT_CONFIG_WRONG_TYPE)'],
  },
  {
    name: 'fail/unknown-field: with a "did you mean"',
    text: AP('  rules:\n  - from:\n    - source:\n        ipBlock: ["10.0.0.0/8"]\n'),
    expect: ['test.yaml:10:9: spec.rules[0].from[0].source.ipBlock: unknown field "ipBlock"; did you mean "ipBlocks"? (WEFT_CONFIG_UNKNOWN_FIELD)'],
  },
  {
    name: 'fail/unknown-field: nothing close, no suggestion',
    text: AP('  colour: blue\n'),
    expect: ['test.yaml:7:3: spec.colour: unknown field "colour" (WEFT_CONFIG_UNKNOWN_FIELD)'],
  },
  {
    name: 'fail/unknown-field: status is the control plane\'s',
    text: `${AP('  {}\n')}status: {}\n`,
    expect: ['test.yaml:8:1: status: "status" is written by the control plane, never applied: remove it (WEFT_CONFIG_UNKNOWN_FIELD)'],
  },
  {
    name: 'fail/unknown-field: metadata fields Kubernetes does not define',
    text: AP('  {}\n', '  name: p\n  tags: [a]\n'),
    expect: ['test.yaml:5:3: metadata.tags: unknown field "tags" (WEFT_CONFIG_UNKNOWN_FIELD)'],
  },
  {
    name: 'fail/enum: wrong case gets a suggestion',
    text: AP('  action: deny\n  rules: [{}]\n'),
    expect: ['test.yaml:7:11: spec.action: must be one of ALLOW, DENY, AUDIT, CUSTOM; got "deny"; did you mean "DENY"? (WEFT_CONFIG_BAD_ENUM)'],
  },
  {
    name: 'fail/required: a JWT rule without issuer',
    text: 'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: r}\nspec:\n  jwtRules:\n  - jwksUri: https://example.com/jwks.json\n',
    expect: ['test.yaml:6:5: spec.jwtRules[0].issuer: missing required field "issuer" (WEFT_CONFIG_REQUIRED_FIELD)'],
  },
  {
    name: 'fail/selector: a wildcard label key and an over-long value',
    text: AP(`  selector:\n    matchLabels:\n      "app*": x\n      version: ${'v'.repeat(64)}\n`),
    expect: [
      'test.yaml:9:7: spec.selector.matchLabels["app*"]: invalid label key "app*": wildcard "*" is not allowed in a label key (WEFT_CONFIG_INVALID_LABEL)',
      `test.yaml:10:16: spec.selector.matchLabels.version: invalid label value "${'v'.repeat(64)}": must be at most 63 characters (WEFT_CONFIG_INVALID_LABEL)`,
    ],
  },
  {
    name: 'fail/selector: label key prefix must be a DNS subdomain',
    text: AP('  selector:\n    matchLabels:\n      Example.com/app: x\n'),
    expect: [
      'test.yaml:9:7: spec.selector.matchLabels["Example.com/app"]: invalid label key "Example.com/app": prefix "Example.com": use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit (a DNS-1123 subdomain) (WEFT_CONFIG_INVALID_LABEL)',
    ],
  },
  {
    name: 'fail/principal: spiffe:// prefix, infix wildcard, wrong shape',
    text: AP('  rules:\n  - from:\n    - source:\n        principals: ["spiffe://cluster.local/ns/a/sa/b", "cluster.local/ns/*/sa/b", "cluster.local/sa/b"]\n'),
    expect: [
      'test.yaml:10:22: spec.rules[0].from[0].source.principals[0]: invalid principal "spiffe://cluster.local/ns/a/sa/b": principals leave out "spiffe://": write "cluster.local/ns/a/sa/b" (WEFT_CONFIG_INVALID_PRINCIPAL)',
      'test.yaml:10:58: spec.rules[0].from[0].source.principals[1]: invalid principal "cluster.local/ns/*/sa/b": a wildcard "*" is allowed only once, at the start or the end (WEFT_CONFIG_INVALID_PRINCIPAL)',
      'test.yaml:10:85: spec.rules[0].from[0].source.principals[2]: invalid principal "cluster.local/sa/b": must be "<trust-domain>/ns/<namespace>/sa/<service-account>", or use "*" at the start or end (WEFT_CONFIG_INVALID_PRINCIPAL)',
    ],
  },
  {
    name: 'fail/namespace: metadata.namespace and a namespaces value',
    text: AP('  rules:\n  - from:\n    - source:\n        namespaces: ["Prod"]\n', '  name: p\n  namespace: Foo\n'),
    expect: [
      'test.yaml:5:14: metadata.namespace: invalid namespace "Foo": use lowercase letters, digits and "-", starting and ending with a letter or digit (a DNS-1123 label) (WEFT_CONFIG_INVALID_NAMESPACE)',
      'test.yaml:10:22: spec.rules[0].from[0].source.namespaces[0]: invalid namespace "Prod": use lowercase letters, digits and "-", starting and ending with a letter or digit (a DNS-1123 label) (WEFT_CONFIG_INVALID_NAMESPACE)',
    ],
  },
  {
    name: 'fail/name: metadata.name is a DNS-1123 subdomain',
    text: AP('  {}\n', '  name: My_Policy\n'),
    expect: [
      'test.yaml:4:9: metadata.name: invalid name "My_Policy": use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit (a DNS-1123 subdomain) (WEFT_CONFIG_INVALID_NAME)',
    ],
  },
  {
    name: 'fail/cidr: IPv4 and IPv6 in ipBlocks, notIpBlocks, remoteIpBlocks',
    text: AP(
      '  rules:\n  - from:\n    - source:\n        ipBlocks: ["10.0.0.0/8", "10.0.0.0/33"]\n        notIpBlocks: ["2001:db8::/129"]\n        remoteIpBlocks: ["10.0.0.256", "fe80::1%eth0"]\n',
    ),
    expect: [
      'test.yaml:10:34: spec.rules[0].from[0].source.ipBlocks[1]: invalid IP address or CIDR "10.0.0.0/33": the prefix length must be a number from 0 to 32 (WEFT_CONFIG_INVALID_CIDR)',
      'test.yaml:11:23: spec.rules[0].from[0].source.notIpBlocks[0]: invalid IP address or CIDR "2001:db8::/129": the prefix length must be a number from 0 to 128 (WEFT_CONFIG_INVALID_CIDR)',
      'test.yaml:12:26: spec.rules[0].from[0].source.remoteIpBlocks[0]: invalid IP address or CIDR "10.0.0.256": not an IPv4 or IPv6 address or CIDR block (e.g. "10.0.0.0/8", "2001:db8::/32") (WEFT_CONFIG_INVALID_CIDR)',
      'test.yaml:12:40: spec.rules[0].from[0].source.remoteIpBlocks[1]: invalid IP address or CIDR "fe80::1%eth0": IPv6 zones ("%...") are not allowed (WEFT_CONFIG_INVALID_CIDR)',
    ],
  },
  {
    name: 'fail/path: path templates Istio refuses',
    text: AP('  rules:\n  - to:\n    - operation:\n        paths: ["/foo/{*}.txt", "/a/{**}/{**}", "/a/{id}", "admin"]\n'),
    expect: [
      'test.yaml:10:17: spec.rules[0].to[0].operation.paths[0]: invalid path "/foo/{*}.txt": segment "{*}.txt": an operator must be a whole segment, "{*}" or "{**}"; no other braces or "*" (WEFT_CONFIG_INVALID_PATH)',
      'test.yaml:10:33: spec.rules[0].to[0].operation.paths[1]: invalid path "/a/{**}/{**}": "{**}" may appear only once, as the last operator (WEFT_CONFIG_INVALID_PATH)',
      'test.yaml:10:49: spec.rules[0].to[0].operation.paths[2]: invalid path "/a/{id}": segment "{id}": an operator must be a whole segment, "{*}" or "{**}"; no other braces or "*" (WEFT_CONFIG_INVALID_PATH)',
      'test.yaml:10:60: spec.rules[0].to[0].operation.paths[3]: invalid path "admin": must start with "/" (a path without it never matches a request) (WEFT_CONFIG_INVALID_PATH)',
    ],
  },
  {
    name: 'fail/regex: what JavaScript cannot compile, and lookarounds and backreferences RE2 lacks',
    text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  http:\n  - match:\n    - uri: {regex: "/a(b"}\n    - uri: {regex: "/(?!admin)"}\n    - uri: {regex: "/(a)\\\\1"}\n    route: [{destination: {host: a}}]\n',
    expect: [
      'test.yaml:7:20: spec.http[0].match[0].uri.regex: invalid regex "/a(b": does not compile: unterminated group (WEFT_CONFIG_INVALID_REGEX)',
      'test.yaml:8:20: spec.http[0].match[1].uri.regex: invalid regex "/(?!admin)": lookahead ("(?=", "(?!") is not supported by RE2 (WEFT_CONFIG_INVALID_REGEX)',
      'test.yaml:9:20: spec.http[0].match[2].uri.regex: invalid regex "/(a)\\\\1": backreferences ("\\1") are not supported by RE2 (WEFT_CONFIG_INVALID_REGEX)',
    ],
  },
  {
    name: 'fail/exclusive: jwks and jwksUri together',
    text: 'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: r}\nspec:\n  jwtRules:\n  - issuer: x\n    jwksUri: https://example.com/jwks.json\n    jwks: \'{"keys":[]}\'\n',
    expect: ['test.yaml:8:5: spec.jwtRules[0].jwks: "jwksUri" and "jwks" cannot both be set (WEFT_CONFIG_EXCLUSIVE_FIELDS)'],
  },
  {
    name: 'fail/exclusive: selector with targetRefs',
    text: AP('  selector: {matchLabels: {app: a}}\n  targetRefs:\n  - kind: Gateway\n    name: gw\n'),
    expect: ['test.yaml:8:3: spec.targetRefs: "selector" and "targetRefs" cannot both be set (WEFT_CONFIG_EXCLUSIVE_FIELDS)'],
  },
  {
    name: 'fail/exclusive: serviceAccounts with principals',
    text: AP('  rules:\n  - from:\n    - source:\n        principals: ["cluster.local/ns/a/sa/b"]\n        serviceAccounts: ["a/b"]\n'),
    expect: ['test.yaml:11:9: spec.rules[0].from[0].source.serviceAccounts: "principals" and "serviceAccounts" cannot both be set (WEFT_CONFIG_EXCLUSIVE_FIELDS)'],
  },
  {
    name: 'fail/provider: provider without action CUSTOM',
    text: AP('  action: DENY\n  provider: {name: authz}\n  rules: [{}]\n'),
    expect: ['test.yaml:8:3: spec.provider: "provider" is used only with action CUSTOM (WEFT_CONFIG_MISSING_DEPENDENCY)'],
  },
  {
    name: 'fail/provider: CUSTOM without provider, and CUSTOM matching on identities',
    text: AP('  action: CUSTOM\n  rules:\n  - from:\n    - source: {principals: ["*"]}\n    when:\n    - key: request.auth.claims[iss]\n      values: [x]\n'),
    expect: [
      'test.yaml:7:11: spec.action: action CUSTOM requires provider.name, an extension provider of the MeshConfig (WEFT_CONFIG_MISSING_DEPENDENCY)',
      'test.yaml:10:16: spec.rules[0].from[0].source.principals: "principals" cannot be used with action CUSTOM (WEFT_CONFIG_EXCLUSIVE_FIELDS)',
      'test.yaml:12:12: spec.rules[0].when[0].key: condition "request.auth.claims[iss]" cannot be used with action CUSTOM (WEFT_CONFIG_EXCLUSIVE_FIELDS)',
    ],
  },
  {
    name: 'fail/rules: DENY without rules',
    text: AP('  action: DENY\n'),
    expect: ['test.yaml:7:11: spec.action: action DENY requires rules; use "rules: [{}]" to match every request (WEFT_CONFIG_REQUIRED_FIELD)'],
  },
  {
    name: 'fail/ports: port strings outside 1-65535, ranges, and port numbers',
    text: AP('  rules:\n  - to:\n    - operation:\n        ports: ["0", "65536", "80-90"]\n'),
    expect: [
      'test.yaml:10:17: spec.rules[0].to[0].operation.ports[0]: invalid port "0": must be a port number from 1 to 65535 (WEFT_CONFIG_INVALID_PORT)',
      'test.yaml:10:22: spec.rules[0].to[0].operation.ports[1]: invalid port "65536": must be a port number from 1 to 65535 (WEFT_CONFIG_INVALID_PORT)',
      'test.yaml:10:31: spec.rules[0].to[0].operation.ports[2]: invalid port "80-90": must be a port number from 1 to 65535 written as digits (no wildcards or ranges) (WEFT_CONFIG_INVALID_PORT)',
    ],
  },
  {
    name: 'fail/ports: portLevelMtls keys and its selector',
    text: 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: pa}\nspec:\n  portLevelMtls:\n    70000: {mode: DISABLE}\n',
    expect: [
      'test.yaml:5:3: spec.portLevelMtls: portLevelMtls requires a selector with matchLabels (ports are workload ports) (WEFT_CONFIG_MISSING_DEPENDENCY)',
      'test.yaml:6:5: spec.portLevelMtls["70000"]: invalid port "70000": must be a port number from 1 to 65535 (WEFT_CONFIG_INVALID_PORT)',
    ],
  },
  {
    name: 'fail/methods: lower-case methods never match',
    text: AP('  rules:\n  - to:\n    - operation:\n        methods: ["get"]\n'),
    expect: ['test.yaml:10:19: spec.rules[0].to[0].operation.methods[0]: invalid method "get": methods are upper case: write "GET" (WEFT_CONFIG_INVALID_VALUE)'],
  },
  {
    name: 'fail/condition: unknown and refused keys, and values that do not suit the key',
    text: AP(
      '  rules:\n  - when:\n    - key: destination.labels[app]\n      values: [a]\n    - key: request.header[x]\n      values: [a]\n    - key: source.ip\n      values: ["10.0.0.1/40"]\n    - key: destination.port\n      notValues: ["http"]\n',
    ),
    expect: [
      'test.yaml:9:12: spec.rules[0].when[0].key: invalid condition key "destination.labels[app]": is not supported: select workloads with spec.selector (WEFT_CONFIG_INVALID_CONDITION)',
      'test.yaml:11:12: spec.rules[0].when[1].key: invalid condition key "request.header[x]": is not a supported condition key (source.ip, remote.ip, destination.ip, destination.port, source.namespace, source.principal, source.serviceAccount, source.trustDomain, request.auth.principal, request.auth.audiences, request.auth.presenter, connection.sni, request.headers[...], request.auth.claims[...]) (WEFT_CONFIG_INVALID_CONDITION)',
      'test.yaml:14:16: spec.rules[0].when[2].values[0]: invalid IP address or CIDR "10.0.0.1/40": the prefix length must be a number from 0 to 32 (WEFT_CONFIG_INVALID_CIDR)',
      'test.yaml:16:19: spec.rules[0].when[3].notValues[0]: invalid port "http": must be a port number from 1 to 65535 written as digits (no wildcards or ranges) (WEFT_CONFIG_INVALID_PORT)',
    ],
  },
  {
    name: 'fail/condition: a condition without values',
    text: AP('  rules:\n  - when:\n    - key: source.ip\n'),
    expect: ['test.yaml:9:7: spec.rules[0].when[0]: must set one of "values", "notValues" (WEFT_CONFIG_REQUIRED_FIELD)'],
  },
  {
    name: 'fail/empty: an empty source, an empty from, an empty value list',
    text: AP('  rules:\n  - from:\n    - source: {}\n    to: []\n  - from:\n    - source:\n        principals: []\n'),
    expect: [
      'test.yaml:9:15: spec.rules[0].from[0].source: must not be empty: set at least one field (WEFT_CONFIG_OUT_OF_RANGE)',
      'test.yaml:10:9: spec.rules[0].to: must not be an empty list (WEFT_CONFIG_OUT_OF_RANGE)',
      'test.yaml:13:21: spec.rules[1].from[0].source.principals: must not be an empty list (WEFT_CONFIG_OUT_OF_RANGE)',
    ],
  },
  {
    name: 'fail/kind: unknown kind with a suggestion, and an apiVersion that does not serve the kind',
    text: 'apiVersion: security.istio.io/v1\nkind: AuthorisationPolicy\nmetadata: {name: a}\n---\napiVersion: networking.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: b}\n',
    expect: [
      'test.yaml:2:7: kind: unknown kind "AuthorisationPolicy"; did you mean "AuthorizationPolicy"? (WEFT_CONFIG_UNKNOWN_KIND)',
      'test.yaml:5:13: apiVersion: PeerAuthentication is served at security.istio.io/v1, security.istio.io/v1beta1; got "networking.istio.io/v1" (WEFT_CONFIG_UNKNOWN_KIND)',
    ],
  },
  {
    name: 'fail/duplicate: the same kind, namespace and name twice in one input',
    text: `${AP('  {}\n')}---\n${AP('  rules: [{}]\n')}`,
    expect: ['test.yaml:12:9: metadata.name: duplicate resource AuthorizationPolicy/foo/p: first defined at test.yaml:4:9 (WEFT_CONFIG_DUPLICATE_RESOURCE)'],
  },
  {
    name: 'fail/duplicate: namespace "default" when left out equals "default" written out',
    text: `${AP('  {}\n', '  name: p\n')}---\n${AP('  {}\n', '  name: p\n  namespace: default\n')}`,
    expect: ['test.yaml:11:9: metadata.name: duplicate resource AuthorizationPolicy/default/p: first defined at test.yaml:4:9 (WEFT_CONFIG_DUPLICATE_RESOURCE)'],
  },
  {
    name: 'fail/dry-run: an annotation that does not parse as a boolean',
    text: AP('  {}\n', '  name: p\n  annotations:\n    istio.io/dry-run: "yes"\n'),
    expect: ['test.yaml:6:23: metadata.annotations["istio.io/dry-run"]: invalid value "yes": istio.io/dry-run must be "true" or "false" (WEFT_CONFIG_INVALID_VALUE)'],
  },
  {
    name: 'fail/duration: a number and a sentence where a duration belongs',
    text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  http:\n  - timeout: 5\n    route: [{destination: {host: a}}]\n  - timeout: 5 seconds\n    route: [{destination: {host: a}}]\n',
    expect: [
      'test.yaml:6:14: spec.http[0].timeout: must be a string, got a number (WEFT_CONFIG_WRONG_TYPE)',
      'test.yaml:8:14: spec.http[1].timeout: invalid duration "5 seconds": not a duration: use a number with a unit (ns, us, ms, s, m, h), e.g. "5s", "250ms" or "1h30m" (WEFT_CONFIG_INVALID_DURATION)',
    ],
  },
  {
    name: 'fail/service-entry: the CRD rules on resolution, addresses and endpoints',
    text: 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\nspec:\n  hosts: ["*", a.example.com]\n  addresses: [10.0.0.0/24]\n  resolution: DNS\n  ports:\n  - {number: 80, name: http}\n  - {number: 80, name: http2}\n',
    expect: [
      'test.yaml:5:11: spec.hosts[0]: invalid host "*": a ServiceEntry host cannot be "*" (WEFT_CONFIG_INVALID_HOST)',
      'test.yaml:6:15: spec.addresses[0]: CIDR addresses are allowed only with resolution NONE or STATIC, not DNS (WEFT_CONFIG_INVALID_CIDR)',
      'test.yaml:10:14: spec.ports[1].number: duplicate number 80: already used by item [0] (WEFT_CONFIG_DUPLICATE_ENTRY)',
    ],
  },
  {
    name: 'fail/mesh-config: cluster-scoped, admin identities, one provider type each',
    text: 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default, namespace: x}\nspec:\n  adminIdentities: [cluster.local/ns/a/sa/b]\n  pathNormalization: {normalization: DEFAULT}\n  extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: {service: a.b.svc.cluster.local, port: 80}\n    envoyExtAuthzGrpc: {service: a.b.svc.cluster.local, port: 81}\n',
    expect: [
      'test.yaml:3:27: metadata.namespace: MeshConfig is cluster-scoped: remove metadata.namespace (WEFT_CONFIG_INVALID_NAMESPACE)',
      'test.yaml:5:21: spec.adminIdentities[0]: invalid identity "cluster.local/ns/a/sa/b": invalid SPIFFE ID "cluster.local/ns/a/sa/b": scheme is missing or invalid: must start with "spiffe://" (WEFT_CONFIG_INVALID_PRINCIPAL)',
      'test.yaml:6:38: spec.pathNormalization.normalization: must be one of NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES; got "DEFAULT" (WEFT_CONFIG_BAD_ENUM)',
      'test.yaml:10:5: spec.extensionProviders[0].envoyExtAuthzGrpc: "envoyExtAuthzHttp" and "envoyExtAuthzGrpc" cannot both be set (WEFT_CONFIG_EXCLUSIVE_FIELDS)',
    ],
  },
  {
    name: 'fail/mesh-config: access log format names the unknown operator, sampling range, tracing provider',
    text: 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  accessLogFile: relative.log\n  accessLogFormat: "[%START_TIME%] %REQ(:PATH)% %NOT_AN_OPERATOR%"\n  defaultConfig: {tracing: {sampling: 150}}\n  defaultProviders: {tracing: [otel, x]}\n  extensionProviders:\n  - name: otel\n    envoyExtAuthzHttp: {service: a.b.svc.cluster.local, port: 80}\n',
    expect: [
      'test.yaml:5:18: spec.accessLogFile: invalid access log file "relative.log": must be empty (off), /dev/stdout, /dev/stderr or an absolute path (WEFT_CONFIG_INVALID_PATH)',
      'test.yaml:6:20: spec.accessLogFormat: invalid access log format: unknown operator %NOT_AN_OPERATOR% at offset 28: weft fills START_TIME, REQ, RESP, TRAILER, PROTOCOL, RESPONSE_CODE, RESPONSE_FLAGS, RESPONSE_CODE_DETAILS, CONNECTION_TERMINATION_DETAILS, UPSTREAM_TRANSPORT_FAILURE_REASON, BYTES_RECEIVED, BYTES_SENT, DURATION, UPSTREAM_SERVICE_TIME, UPSTREAM_HOST, UPSTREAM_CLUSTER, UPSTREAM_CLUSTER_RAW, UPSTREAM_LOCAL_ADDRESS, DOWNSTREAM_LOCAL_ADDRESS, DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT, DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_PEER_URI_SAN, DOWNSTREAM_LOCAL_URI_SAN, UPSTREAM_PEER_URI_SAN, REQUESTED_SERVER_NAME, ROUTE_NAME (WEFT_CONFIG_INVALID_VALUE)',
      'test.yaml:7:39: spec.defaultConfig.tracing.sampling: must be <= 100, got 150 (WEFT_CONFIG_OUT_OF_RANGE)',
      'test.yaml:8:31: spec.defaultProviders.tracing: must have at most 1 items (WEFT_CONFIG_OUT_OF_RANGE)',
      'test.yaml:8:32: spec.defaultProviders.tracing[0]: extension provider "otel" is not an opentelemetry provider: tracing needs one (WEFT_CONFIG_INVALID_VALUE)',
      'test.yaml:8:38: spec.defaultProviders.tracing[1]: no extensionProviders entry is named "x" (WEFT_CONFIG_MISSING_DEPENDENCY)',
    ],
  },
  {
    name: 'fail/mesh-config: a JSON access log format must be an object of format strings',
    text: 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  accessLogEncoding: JSON\n  accessLogFormat: \'{"code": "%RESPONSE_CODE%", "bad": "%REQ%"}\'\n',
    expect: [
      'test.yaml:6:20: spec.accessLogFormat: invalid access log format: key "bad": operator %REQ% at offset 0 needs a header name: %REQ(X-HEADER)% or %REQ(X?Y)% (WEFT_CONFIG_INVALID_VALUE)',
    ],
  },
  {
    name: 'fail/tls: ISTIO_MUTUAL with certificates, MUTUAL without a client certificate',
    text: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: a\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL, caCertificates: /ca.pem}\n  subsets:\n  - name: v1\n    trafficPolicy:\n      portLevelSettings:\n      - port: {number: 80}\n        tls: {mode: MUTUAL}\n',
    expect: [
      'test.yaml:7:31: spec.trafficPolicy.tls.caCertificates: "caCertificates" cannot be set with mode ISTIO_MUTUAL, which uses the mesh certificates (WEFT_CONFIG_EXCLUSIVE_FIELDS)',
      'test.yaml:13:21: spec.subsets[0].trafficPolicy.portLevelSettings[0].tls.mode: mode MUTUAL needs clientCertificate and privateKey, or credentialName (WEFT_CONFIG_MISSING_DEPENDENCY)',
    ],
  },
  {
    name: 'fail/consistent-hash: a maglev table that is not prime, a ring above Envoy\'s maximum',
    text: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: a\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65536}}\n  subsets:\n  - name: v1\n    trafficPolicy:\n      portLevelSettings:\n      - port: {number: 80}\n        loadBalancer:\n          consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 9000000}}\n',
    expect: [
      'test.yaml:8:68: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: maglev tableSize 65536 must be a prime number below 5000011 (e.g. 65537) (WEFT_CONFIG_INVALID_VALUE)',
      'test.yaml:15:75: spec.subsets[0].trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.ringHash.minimumRingSize: minimumRingSize 9000000 is above the maximum ring size 8388608 (WEFT_CONFIG_OUT_OF_RANGE)',
    ],
  },
  {
    name: 'fail/locality: distribute with failover, weights not adding up to 100, a failover within one region',
    text: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: a\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute:\n        - from: eu/*\n          to: {eu/*: 70, us/*: 20}\n        - from: eu/*\n          to: {eu/*: 0, us/*: 100}\n        failover:\n        - {from: eu, to: eu}\n        - {from: eu/a, to: us}\n',
    expect: [
      'test.yaml:11:15: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: locality weights add up to 90, not 100 (WEFT_CONFIG_INVALID_VALUE)',
      'test.yaml:12:17: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[1].from: locality "eu/*" is set twice in distribute (WEFT_CONFIG_DUPLICATE_ENTRY)',
      'test.yaml:13:22: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[1].to["eu/*"]: locality weight 0 must be from 1 to 100 (WEFT_CONFIG_OUT_OF_RANGE)',
      'test.yaml:14:9: spec.trafficPolicy.loadBalancer.localityLbSetting.failover: "distribute" and "failover" cannot both be set (WEFT_CONFIG_EXCLUSIVE_FIELDS)',
      'test.yaml:15:11: spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]: failover must name two different regions in "from" and "to" (WEFT_CONFIG_INVALID_VALUE)',
      'test.yaml:16:11: spec.trafficPolicy.loadBalancer.localityLbSetting.failover[1]: failover names regions only: no "/" and no "*" wildcard (WEFT_CONFIG_INVALID_VALUE)',
    ],
  },
  {
    name: 'fail/gateway: a TLS server without a certificate, and one port name for two ports',
    text: 'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: ["*"]\n    tls: {mode: SIMPLE}\n  - port: {number: 8443, name: https, protocol: HTTPS}\n    hosts: ["*"]\n    tls: {mode: PASSTHROUGH}\n',
    expect: [
      'test.yaml:8:17: spec.servers[0].tls.mode: mode SIMPLE needs serverCertificate and privateKey, credentialName(s) or tlsCertificates (WEFT_CONFIG_MISSING_DEPENDENCY)',
      'test.yaml:9:32: spec.servers[1].port.name: duplicate port name "https": servers[0] uses it for port 443 (WEFT_CONFIG_DUPLICATE_ENTRY)',
    ],
  },
  {
    name: 'fail/virtual-service: a route and a redirect together, and a route with neither',
    text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n    redirect: {uri: /b}\n  - timeout: 1s\n',
    expect: [
      'test.yaml:8:5: spec.http[0].redirect: "route" and "redirect" cannot both be set (WEFT_CONFIG_EXCLUSIVE_FIELDS)',
      'test.yaml:9:5: spec.http[1]: must set one of "route", "redirect", "directResponse", "delegate" (WEFT_CONFIG_REQUIRED_FIELD)',
    ],
  },
];

describe('parseResources refuses what Kubernetes admission of Istio resources refuses', () => {
  for (const c of CASES) {
    test(c.name, () => {
      assert.deepEqual(issues(c.text), c.expect);
    });
  }
});
