// Table cases for the value checks the schemas name: `ok/` values pass, `fail/` values give the
// reason shown.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { conditionKeyProblem } from './conditions.js';
import { durationProblem, jwksProblem, methodProblem, regexProblem, requestPathProblem } from './http.js';
import { namespaceMatchProblem, principalProblem, requestPrincipalProblem, serviceAccountProblem, trustDomainMatchProblem } from './identity.js';
import { labelValueProblem, qualifiedNameProblem } from './names.js';
import { cidrProblem, gatewayHostProblem, hostProblem } from './network.js';
import { runCheck } from './index.js';

type Table = ReadonlyArray<readonly [string, string | undefined]>;

function table(name: string, fn: (v: string) => string | undefined, rows: Table): void {
  describe(name, () => {
    for (const [value, expected] of rows) {
      test(`${expected === undefined ? 'ok' : 'fail'}/${JSON.stringify(value)}`, () => assert.equal(fn(value), expected));
    }
  });
}

table('CIDR blocks (ipBlocks, source.ip)', cidrProblem, [
  ['1.2.3.4', undefined],
  ['10.0.0.0/8', undefined],
  ['0.0.0.0/0', undefined],
  ['10.1.2.3/32', undefined],
  ['2001:db8::/32', undefined],
  ['::1', undefined],
  ['::ffff:10.0.0.1/128', undefined],
  ['10.0.0.0/33', 'the prefix length must be a number from 0 to 32'],
  ['10.0.0.0/08', 'the prefix length must be a number from 0 to 32'],
  ['10.0.0.0/', 'the prefix length must be a number from 0 to 32'],
  ['2001:db8::/129', 'the prefix length must be a number from 0 to 128'],
  ['010.0.0.1', 'not an IPv4 or IPv6 address or CIDR block (e.g. "10.0.0.0/8", "2001:db8::/32")'],
  ['10.0.0', 'not an IPv4 or IPv6 address or CIDR block (e.g. "10.0.0.0/8", "2001:db8::/32")'],
  ['example.com', 'not an IPv4 or IPv6 address or CIDR block (e.g. "10.0.0.0/8", "2001:db8::/32")'],
  ['10.0.0.0/8/8', 'more than one "/"'],
  ['fe80::1%eth0', 'IPv6 zones ("%...") are not allowed'],
]);

table('principals', principalProblem, [
  ['cluster.local/ns/default/sa/sleep', undefined],
  ['*', undefined],
  ['*/ns/ns1/sa/foo', undefined],
  ['cluster.local/ns/default/*', undefined],
  ['example.org/ns/a.b/sa/c_d', undefined],
  ['', 'must not be empty'],
  ['spiffe://cluster.local/ns/a/sa/b', 'principals leave out "spiffe://": write "cluster.local/ns/a/sa/b"'],
  ['cluster.local/ns/*/sa/b', 'a wildcard "*" is allowed only once, at the start or the end'],
  ['*cluster.local*', 'a wildcard "*" is allowed only once, at the start or the end'],
  ['cluster.local/ns/a', 'must be "<trust-domain>/ns/<namespace>/sa/<service-account>", or use "*" at the start or end'],
  ['cluster.local/ns/a b/sa/c', 'may hold only letters, digits, ".", "_", "-" and "/" (and one leading or trailing "*")'],
  ['Cluster.local/ns/a/sa/b', 'invalid SPIFFE ID "spiffe://Cluster.local/ns/a/sa/b": trust domain must be lowercase'],
]);

table('namespace matches', namespaceMatchProblem, [
  ['default', undefined],
  ['*', undefined],
  ['*-prod', undefined],
  ['team-*', undefined],
  ['Prod', 'use lowercase letters, digits and "-", starting and ending with a letter or digit (a DNS-1123 label)'],
  ['a*b', 'a wildcard "*" is allowed only once, at the start or the end'],
  ['*_x', 'may hold only lowercase letters, digits and "-" (and one leading or trailing "*")'],
]);

table('request principals', requestPrincipalProblem, [
  ['*', undefined],
  ['issuer-foo/*', undefined],
  ['*/subject', undefined],
  ['https://accounts.google.com/1234', undefined],
  ['iss/a*b', 'a wildcard "*" is allowed only once, at the start or the end'],
  ['', 'must not be empty'],
]);

table('service accounts', serviceAccountProblem, [
  ['default/sleep', undefined],
  ['curl', undefined],
  ['ns/my.sa', undefined],
  ['ns/*', 'wildcards are not allowed in service accounts'],
  ['a/b/c', 'must be "<namespace>/<service-account>" or "<service-account>"'],
  ['NS/sa', 'namespace "NS": use lowercase letters, digits and "-", starting and ending with a letter or digit (a DNS-1123 label)'],
]);

table('trust domain matches', trustDomainMatchProblem, [
  ['cluster.local', undefined],
  ['*.example.org', undefined],
  ['prod-*', undefined],
  ['a/b', 'a trust domain has no "/"'],
  ['Example.org', 'may hold only lowercase letters, digits, ".", "_" and "-"'],
]);

table('request paths and path templates', requestPathProblem, [
  ['/info*', undefined],
  ['*/info', undefined],
  ['*', undefined],
  ['/allow/admin/{**}', undefined],
  ['/foo/{*}/bar/{**}', undefined],
  ['/store/{**}/cart', undefined],
  ['/foo/{**}/', undefined],
  ['/package.Service/Method', undefined],
  ['/a/{**}/{*}', '"{*}" cannot follow "{**}": "{**}" must be the last operator'],
  ['/a/{**}/{**}', '"{**}" may appear only once, as the last operator'],
  ['/foo/{*}.txt', 'segment "{*}.txt": an operator must be a whole segment, "{*}" or "{**}"; no other braces or "*"'],
  ['/foo/{*}/*', 'segment "*": an operator must be a whole segment, "{*}" or "{**}"; no other braces or "*"'],
  ['foo/{*}', 'a path template must start with "/"'],
  ['/a b/{*}', 'segment "a b" holds a character that is not allowed in a path (RFC 3986 pchar)'],
  ['/a*b', 'a wildcard "*" is allowed only once, at the start or the end'],
  ['admin', 'must start with "/" (a path without it never matches a request)'],
  ['/admin?x=1', 'paths are matched without the query string and fragment: remove "?..." and "#..."'],
]);

table('methods', methodProblem, [
  ['GET', undefined],
  ['*', undefined],
  ['P*', undefined],
  ['get', 'methods are upper case: write "GET"'],
  ['GE T', 'not an HTTP method token'],
]);

table('RE2 regexes', regexProblem, [
  ['^/api/v[0-9]+/.*$', undefined],
  ['[(?=]', undefined],
  ['\\(?=x\\)', undefined],
  ['(?:a|b)+', undefined],
  ['(?<name>a)', undefined],
  ['(?=a)', 'lookahead ("(?=", "(?!") is not supported by RE2'],
  ['a(?<!b)', 'lookbehind ("(?<=", "(?<!") is not supported by RE2'],
  ['(a)\\1', 'backreferences ("\\1") are not supported by RE2'],
  ['(?<n>a)\\k<n>', 'named backreferences ("\\k<name>") are not supported by RE2'],
  ['(', 'does not compile: unterminated group'],
  ['a**', 'does not compile: nothing to repeat'],
]);

table('durations', durationProblem, [
  ['5s', undefined],
  ['0.5s', undefined],
  ['1h30m', undefined],
  ['250ms', undefined],
  ['0', undefined],
  ['5', 'not a duration: use a number with a unit (ns, us, ms, s, m, h), e.g. "5s", "250ms" or "1h30m"'],
  ['1d', 'not a duration: use a number with a unit (ns, us, ms, s, m, h), e.g. "5s", "250ms" or "1h30m"'],
  ['-1s', 'not a duration: use a number with a unit (ns, us, ms, s, m, h), e.g. "5s", "250ms" or "1h30m"'],
]);

table('hosts', (v) => hostProblem(v), [
  ['reviews', undefined],
  ['reviews.prod.svc.cluster.local', undefined],
  ['*.foo.com', undefined],
  ['*', undefined],
  ['foo.*.com', 'a wildcard is allowed only as the whole first label ("*.example.com")'],
  ['-a.com', 'label "-a" must be 1-63 letters, digits, "-" or "_", starting and ending with a letter or digit'],
  ['a..com', 'label "" must be 1-63 letters, digits, "-" or "_", starting and ending with a letter or digit'],
]);

table('gateway hosts', gatewayHostProblem, [
  ['ns1/*', undefined],
  ['./foo.com', undefined],
  ['*/foo.com', undefined],
  ['NS/foo.com', 'namespace part "NS" must be "*", "." or a namespace name'],
]);

table('label keys', qualifiedNameProblem, [
  ['app', undefined],
  ['app.kubernetes.io/name', undefined],
  ['topology.istio.io/subzone', undefined],
  ['a*', 'wildcard "*" is not allowed in a label key'],
  ['/app', 'prefix "": must not be empty'],
  ['app/', 'name part must not be empty'],
  ['-app', 'name part must use letters, digits, "-", "_" and ".", starting and ending with a letter or digit'],
]);

table('label values', labelValueProblem, [
  ['', undefined],
  ['v1', undefined],
  ['a.b_c-d', undefined],
  ['v*', 'wildcard "*" is not allowed in a label value'],
  ['-v', 'use letters, digits, "-", "_" and ".", starting and ending with a letter or digit'],
]);

table('condition keys', conditionKeyProblem, [
  ['request.headers[x-token]', undefined],
  ['request.auth.claims[groups]', undefined],
  ['request.auth.claims[foo.com/name]', undefined],
  ['request.auth.claims[a][b][c]', undefined],
  ['experimental.envoy.filters.network.mysql_proxy[db.table]', undefined],
  ['destination.namespace', 'is not supported: the policy applies in its metadata.namespace'],
  ['request.headers', 'must name its key in brackets: "request.headers[x-token]", "request.auth.claims[groups]"'],
]);

table('inline JWKS', jwksProblem, [
  ['{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}', undefined],
  ['{"keys":[]}', undefined],
  ['{"key":[]}', 'must be a JSON Web Key Set: an object with a "keys" list'],
  ['{"keys":[{"kid":"a"}]}', 'keys[0] must be a JSON Web Key with a "kty"'],
  ['{"keys":[{"kty":"EC","d":"secret"}]}', 'keys[0] holds private or secret key material ("d"): publish public keys only'],
]);

test('fail/inline JWKS that is not JSON says so, with the parser\'s reason', () => {
  assert.match(jwksProblem('{keys: []}') ?? '', /^not JSON: .*position 1/);
});

describe('runCheck', () => {
  test('values of another type pass, for the schema type to report', () => {
    assert.equal(runCheck('cidr', 42), undefined);
    assert.equal(runCheck('port', 'x'), undefined);
  });
  test('fail/messages name what the value is and quote it', () => {
    assert.deepEqual(runCheck('port', 0), { code: 'WEFT_CONFIG_INVALID_PORT', message: 'invalid port 0: must be a port number from 1 to 65535' });
    assert.deepEqual(runCheck('protocol', 'SMTP'), {
      code: 'WEFT_CONFIG_BAD_ENUM',
      message: 'invalid protocol "SMTP": must be one of HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, HTTP_PROXY, MONGO, MYSQL, REDIS, TCP, TLS, UDP',
    });
  });
});
