// The one redaction step every log line passes through: secrets that ride on requests (tokens in
// query parameters, cookies and headers, anything shaped like a JWT) and private keys are replaced
// by `[redacted]` wherever they sit in a line's fields: strings at any depth, header objects,
// raw header lists, error messages. Call sites log paths, URLs and errors as they are.

export const REDACTED = '[redacted]';

/** Names under which a token may travel; names are matched without regard to case. */
export interface SensitiveNames {
  /** Query parameters (RequestAuthentication fromParams). */
  readonly params?: Iterable<string>;
  /** Cookies (fromCookies). */
  readonly cookies?: Iterable<string>;
  /** Request headers (fromHeaders). */
  readonly headers?: Iterable<string>;
}

/**
 * Query parameters always treated as secret: Istio's default token location (`access_token`) and
 * the OAuth 2.0 / OpenID Connect names for tokens and client secrets.
 */
export const DEFAULT_SENSITIVE_PARAMS: readonly string[] = ['access_token', 'id_token', 'refresh_token', 'client_secret'];

/** Headers whose whole value is a credential. */
export const DEFAULT_SENSITIVE_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

// A JWS or JWE in compact form: the base64url of a JSON header ('{"' is `eyJ`; `{ "`, `{\n`, `{\r`
// and `{\t` start `eyA`, `ewo`, `ew0`, `ewk`), then one to four more segments after a dot (or a
// percent-encoded one). One dot is enough so that a token cut short (a log field truncated to N
// characters) still goes.
const JWT = /(?:eyJ|eyA|ew[o0k])[A-Za-z0-9_-]{4,}(?:(?:\.|%2[Ee])[A-Za-z0-9_-]*){1,4}/g;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const BEARER = /(bearer\s+)[A-Za-z0-9._~+/-]+=*/gi;
const MAX_DEPTH = 12;

/**
 * Redacts secrets from log fields. Sensitive names only ever grow: a name that carried tokens
 * stays redacted for the life of the process, even after the RequestAuthentication naming it goes.
 *
 * @example new Redactor().string('/api?access_token=abc&x=1') // '/api?access_token=[redacted]&x=1'
 */
export class Redactor {
  readonly #pairNames = new Set<string>();
  readonly #headerNames = new Set<string>();
  /** Every sensitive name, lowercase: a field or header object key with one of these names. */
  readonly #keys = new Set<string>();
  #pair!: RegExp;
  #header!: RegExp;

  constructor(extra: SensitiveNames = {}) {
    this.add({ params: DEFAULT_SENSITIVE_PARAMS, headers: DEFAULT_SENSITIVE_HEADERS });
    this.add(extra);
  }

  /** Adds names to redact; cheap when nothing is new (the sidecar calls it on every snapshot). */
  add(names: SensitiveNames): void {
    let changed = false;
    const put = (set: Set<string>, name: string) => {
      const n = name.toLowerCase();
      if (n === '' || set.has(n)) return;
      set.add(n);
      this.#keys.add(n);
      changed = true;
    };
    for (const n of names.params ?? []) put(this.#pairNames, n);
    for (const n of names.cookies ?? []) put(this.#pairNames, n);
    for (const n of names.headers ?? []) put(this.#headerNames, n);
    if (!changed && this.#pair !== undefined) return;
    // `name=value` in a query or a Cookie header; the name must start at a separator so that
    // `xaccess_token=` is left alone. The value ends at the next separator.
    this.#pair = new RegExp(`(^|[^A-Za-z0-9_.~%-])(${alternation(this.#pairNames)})(\\s*=\\s*"?)[^&;#\\s"',]+`, 'gi');
    // `name: value` (a header line, or a headers object printed as JSON or by util.inspect).
    this.#header = new RegExp(`(^|[^A-Za-z0-9_-])(${alternation(this.#headerNames)})(["']?\\s*[:=]\\s*["']?)[^\\r\\n"']+`, 'gi');
  }

  /** Whether a field or header named `name` holds a credential as a whole. */
  isSensitiveKey(name: string): boolean {
    return this.#keys.has(name.toLowerCase());
  }

  /** The string with every secret in it replaced by `[redacted]`; the same string when it has none. */
  string(s: string): string {
    if (s.length < 4) return s;
    let out = s;
    // Each pattern runs only when the string has what it needs (a few `includes`, the lowercase
    // copy made only for strings with `=` or `:`), and replaces only after a match: most log
    // strings (SPIFFE IDs, event names, reasons) run no regular expression at all.
    if (out.includes('ey') || out.includes('ew')) out = replaceAll(out, JWT, REDACTED);
    if (out.includes('PRIVATE KEY')) out = replaceAll(out, PEM_PRIVATE_KEY, REDACTED);
    const eq = out.includes('=');
    if (eq || out.includes(':')) {
      const lower = out.toLowerCase();
      if (eq && this.#mentions(lower, this.#pairNames)) out = replaceAll(out, this.#pair, `$1$2$3${REDACTED}`);
      if (this.#mentions(lower, this.#headerNames)) out = replaceAll(out, this.#header, `$1$2$3${REDACTED}`);
    }
    if (out.includes('earer') || out.includes('EARER')) out = replaceAll(out, BEARER, `$1${REDACTED}`);
    return out;
  }

  #mentions(lower: string, names: ReadonlySet<string>): boolean {
    for (const n of names) if (lower.includes(n)) return true;
    return false;
  }

  /** Log fields with every secret redacted: a copy, the input is never changed. */
  fields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
    return this.#object(fields, 0, new Set());
  }

  /** Any value as it may be logged: strings redacted, objects and arrays copied with their strings redacted. */
  value(v: unknown): unknown {
    return this.#value(v, 0, new Set());
  }

  #value(v: unknown, depth: number, seen: Set<object>): unknown {
    if (typeof v === 'string') return this.string(v);
    if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? v.toString() : typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
    if (seen.has(v)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    seen.add(v);
    try {
      if (v instanceof Error) return this.#error(v, depth, seen);
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return `[${v.byteLength} bytes]`;
      if (Array.isArray(v)) return this.#array(v, depth, seen);
      if (v instanceof Map) return this.#object(Object.fromEntries([...v].map(([k, x]) => [String(k), x])), depth, seen);
      if (v instanceof Set) return this.#array([...v], depth, seen);
      // What JSON would show for it (a URL's href, for one), redacted like anything else.
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return this.#value(toJSON.call(v), depth + 1, seen);
      return this.#object(v as Record<string, unknown>, depth, seen);
    } finally {
      seen.delete(v);
    }
  }

  #object(o: Readonly<Record<string, unknown>>, depth: number, seen: Set<object>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k in o) {
      if (!Object.hasOwn(o, k)) continue;
      let x: unknown;
      try {
        x = o[k];
      } catch {
        // A getter that throws must not turn a log line into a failed request.
        x = '[unreadable]';
      }
      const value = x !== undefined && x !== null && this.isSensitiveKey(k) ? REDACTED : this.#value(x, depth + 1, seen);
      const name = this.string(k);
      // An own `__proto__` field must stay a field: assigning it would set the prototype.
      if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      else out[name] = value;
    }
    return out;
  }

  // A raw header list (`['authorization', 'Bearer x', ...]`): the value after a sensitive name goes.
  #array(a: readonly unknown[], depth: number, seen: Set<object>): unknown[] {
    const out = new Array<unknown>(a.length);
    for (let i = 0; i < a.length; i++) {
      const prev = a[i - 1];
      out[i] = i > 0 && typeof prev === 'string' && this.#headerNames.has(prev.toLowerCase()) && a[i] !== undefined ? REDACTED : this.#value(a[i], depth + 1, seen);
    }
    return out;
  }

  // Errors log as their message, code and cause: the stack adds nothing a refusal needs and error
  // properties are not enumerable, so a plain walk would log `{}`.
  #error(e: Error, depth: number, seen: Set<object>): Record<string, unknown> {
    const code = (e as { code?: unknown }).code;
    return {
      type: e.name,
      message: this.string(e.message),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
      ...(e.cause === undefined ? {} : { cause: this.#value(e.cause, depth + 1, seen) }),
    };
  }
}

function replaceAll(s: string, re: RegExp, replacement: string): string {
  re.lastIndex = 0;
  if (!re.test(s)) return s;
  re.lastIndex = 0;
  return s.replace(re, replacement);
}

function alternation(names: ReadonlySet<string>): string {
  // Longest first, so `set-cookie` is tried before `cookie`.
  return [...names].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
