/**
 * The proxy headers' grammar, as small pure functions over header values: the comma lists of
 * `X-Forwarded-*` (Werkzeug ProxyFix's `_get_real_value`) and RFC 7239 `Forwarded`, and what
 * a usable value of each is. Anything malformed is `undefined`: the caller keeps what the
 * gateway saw.
 */
import ipaddr from 'ipaddr.js';
import {
  type HostParts,
  parseHost,
  requestTargetPath,
} from '../../src/_internal/request-target.js';

/**
 * The value the `hops`-th proxy from ours appended to a comma list (`a, b, c` with 1 hop → `c`,
 * 2 → `b`): each trusted proxy appends one value, so only the last `hops` are true. Fewer
 * values than hops means the chain is not the one configured: `undefined` (Werkzeug's rule).
 */
export function fromRight(list: string | null, hops: number): string | undefined {
  if (!list || hops < 1) return undefined;
  const values = list.split(',');
  if (values.length < hops) return undefined;
  const value = values[values.length - hops]!.trim();
  return value === '' ? undefined : value;
}

/** One `Forwarded` element's parameters, names lower-cased, quoted-strings unquoted. */
export type ForwardedElement = Readonly<Record<string, string>>;

/**
 * RFC 7239 §6: `node-port = port / obfport` — `":" 1*5DIGIT` or `":_" 1*(ALPHA / DIGIT / "."
 * / "_" / "-")` — optional after every kind of `nodename`.
 */
const NODE_PORT = '(?::(?:\\d{1,5}|_[A-Za-z0-9._-]+))?';
/** §6.3 `obfnode = "_" 1*( ALPHA / DIGIT / "." / "_" / "-")`, then an optional node-port. */
const OBFUSCATED = new RegExp(`^(_[A-Za-z0-9._-]+)${NODE_PORT}$`);
const UNKNOWN = new RegExp(`^unknown${NODE_PORT}$`, 'i');
const BRACKETED = new RegExp(`^\\[([^\\]]+)\\]${NODE_PORT}$`);
const IPV4 = new RegExp(`^(\\d{1,3}(?:\\.\\d{1,3}){3})${NODE_PORT}$`);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses an RFC 7239 `Forwarded` value into its elements (one per proxy, leftmost first).
 * Every element must parse — `token=value` pairs joined by `;`, values a token or a
 * quoted-string with `\`-escapes, no parameter twice — else the whole header is refused
 * (`undefined`): a header we cannot read whole tells us nothing we can trust.
 */
export function parseForwarded(value: string | null): ForwardedElement[] | undefined {
  if (!value) return undefined;
  const elements: ForwardedElement[] = [];
  let element: Record<string, string> = {};
  let at = 0;
  const text = value;
  for (;;) {
    while (text[at] === ' ' || text[at] === '\t') at++;
    const equals = text.indexOf('=', at);
    if (equals === -1) return undefined;
    const name = text.slice(at, equals).trim().toLowerCase();
    if (!TOKEN.test(name) || Object.hasOwn(element, name)) return undefined;
    at = equals + 1;
    let parameter: string;
    if (text[at] === '"') {
      const quoted = readQuoted(text, at);
      if (!quoted) return undefined;
      [parameter, at] = quoted;
    } else {
      let end = at;
      while (end < text.length && !';, \t'.includes(text[end]!)) end++;
      parameter = text.slice(at, end);
      if (!TOKEN.test(parameter)) return undefined;
      at = end;
    }
    element[name] = parameter;
    while (text[at] === ' ' || text[at] === '\t') at++;
    if (at === text.length) break;
    if (text[at] === ',') {
      elements.push(element);
      element = {};
    } else if (text[at] !== ';') return undefined;
    at++;
  }
  elements.push(element);
  return elements;
}

/** A quoted-string starting at `start` (the `"`): its value and the index after it. */
function readQuoted(text: string, start: number): [string, number] | undefined {
  let out = '';
  for (let at = start + 1; at < text.length; at++) {
    const char = text[at]!;
    if (char === '"') return [out, at + 1];
    if (char === '\\') {
      at++;
      if (at === text.length) return undefined;
      out += text[at];
    } else out += char;
  }
  return undefined;
}

/**
 * The client address in a `for=` node (RFC 7239 §6: `node = nodename [ ":" node-port ]`) or an
 * `X-Forwarded-For` value: an IPv4 or IPv6 address (`[v6]`, `v4`, either with a port or an
 * obfuscated port), returned bare; an obfuscated identifier (`_hidden`, `_hidden:4711`,
 * `_hidden:_port`), returned without its port; `unknown` (with or without a port) → `null` (a
 * proxy that does not know). `undefined` when it is none of these.
 */
export function forwardedNode(node: string): string | null | undefined {
  if (UNKNOWN.test(node)) return null;
  const obfuscated = OBFUSCATED.exec(node);
  if (obfuscated) return obfuscated[1];
  const bracketed = BRACKETED.exec(node);
  if (bracketed)
    return ipaddr.IPv6.isValid(bracketed[1]!) ? bracketed[1]!.toLowerCase() : undefined;
  if (ipaddr.IPv6.isValid(node) && node.includes(':')) return node.toLowerCase();
  const v4 = IPV4.exec(node);
  return v4 && ipaddr.IPv4.isValid(v4[1]!) ? v4[1] : undefined;
}

/** `http` or `https` (any case) → lower case; anything else `undefined`. */
export function forwardedProto(value: string): 'http' | 'https' | undefined {
  const proto = value.toLowerCase();
  return proto === 'http' || proto === 'https' ? proto : undefined;
}

/** A `Host`-grammar value (name or address, optional port), lower-cased; else `undefined`. */
export function forwardedHost(value: string): HostParts | undefined {
  return parseHost(value);
}

/** A port number 1–65535 written in digits; else `undefined`. */
export function forwardedPort(value: string): number | undefined {
  if (!/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * What a prefix may not hold, beyond the request-target grammar: an empty segment (`//evil.com`
 * at the start is a network-path reference: a redirect built on it leaves the site), and the
 * percent spellings of `/` and `\` (a segment that decodes to one), and of control characters.
 */
const UNSAFE_PREFIX = /\/\/|%(?:2f|5c|[01][0-9a-f]|7f)/i;

/**
 * A path prefix: `/` and non-empty segments by the request-target grammar (percent-encoded,
 * no `.`/`..` segment in any spelling, no query, no backslash or control character, raw or
 * percent-encoded; no `//`); returned without a trailing `/` (`/` alone → `''`). Else
 * `undefined`: `//evil.com` as a prefix would make every redirect built from `scriptName` an
 * open redirect.
 */
export function forwardedPrefix(value: string): string | undefined {
  if (value.charCodeAt(0) !== 47 /* "/" */ || requestTargetPath(value) !== value) return undefined;
  const prefix = value.replace(/\/+$/, '');
  return UNSAFE_PREFIX.test(prefix) ? undefined : prefix;
}
