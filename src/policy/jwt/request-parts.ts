// Turns the raw request target and Cookie header into the maps JwtRequest reads, keeping every
// repeated value (a second `access_token` must verify too, not hide behind the first).

/** Decoded query parameters of a request target (`/path?a=1&a=2` -> `{ a: ['1', '2'] }`). */
export function parseQueryParams(target: string): Record<string, string | string[]> {
  const q = target.indexOf('?');
  if (q < 0) return {};
  const hash = target.indexOf('#', q);
  return collect(new URLSearchParams(target.slice(q + 1, hash < 0 ? undefined : hash)));
}

/** Cookies by name from one or more Cookie header values (RFC 6265 `a=1; b=2`). */
export function parseCookies(header: string | readonly string[] | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  for (const value of values) {
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      let v = pair.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      if (name !== '') add(out, name, v);
    }
  }
  return out;
}

/** The query string of `target` without the parameters named in `names` (for token removal). */
export function removeQueryParams(target: string, names: readonly string[]): string {
  const q = target.indexOf('?');
  if (q < 0 || names.length === 0) return target;
  const hash = target.indexOf('#', q);
  const params = new URLSearchParams(target.slice(q + 1, hash < 0 ? undefined : hash));
  for (const n of names) params.delete(n);
  const rest = params.toString();
  return target.slice(0, q) + (rest === '' ? '' : `?${rest}`) + (hash < 0 ? '' : target.slice(hash));
}

function collect(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of params) add(out, k, v);
  return out;
}

function add(out: Record<string, string | string[]>, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (typeof prev === 'string') out[name] = [prev, value];
  else prev.push(value);
}
