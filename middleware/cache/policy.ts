/**
 * The HTTP caching rules (RFC 9111) as small functions over headers: whether a response may be
 * stored, whether a stored one may answer a request, and the `Cache-Status` field (RFC 9211).
 * Freshness, age and the revalidation headers come from http-cache-semantics; mortar decides
 * reuse itself where that library has known gaps (kornelski/http-cache-semantics#54, #56):
 * a fresh `must-revalidate` or `proxy-revalidate` response is a hit (shared-policy.ts), and a
 * client's `max-stale` never obtains a response marked `must-revalidate`, `proxy-revalidate`,
 * `no-cache` or `s-maxage`, nor one that carried `Set-Cookie`. What is stored is read by
 * stored-fields.ts first (fields never stored, directive case, the corrected `Age`).
 */

import type CachePolicy from 'http-cache-semantics';
import { HOP_BY_HOP } from '../_shared/hop-by-hop.js';

import { policies } from './shared-policy.js';

export type { CachePolicy };
export { policies };

/** A request as http-cache-semantics reads it: lower-case header names. */
export interface PolicyRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
}

/** `headers` as an object with lower-case names (repeated fields joined by `, `, as `Headers` does). */
export function headerObject(pairs: Iterable<readonly [string, string]>): Record<string, string> {
  const object: Record<string, string> = {};
  for (const [name, value] of pairs) addField(object, name, value);
  return object;
}

/** {@link headerObject} of a flat `[name, value, name, value, …]` list (a response's parts). */
export function fieldObject(list: readonly string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) addField(object, list[i]!, list[i + 1]!);
  return object;
}

function addField(object: Record<string, string>, name: string, value: string): void {
  const key = name.toLowerCase();
  const had = object[key];
  object[key] = had === undefined ? value : `${had}, ${value}`;
}

/** A request's header fields, read one at a time by lower-case name (a `Headers` is one). */
export interface HeaderOf {
  get(name: string): string | null;
}

/** The request's URL, method and headers for a policy. */
export function policyRequest(request: Request, method = request.method): PolicyRequest {
  return { url: request.url, method, headers: headerObject(request.headers) };
}

/** Cache-Control directives, names lower-cased; a directive without a value is `true`. */
export function parseCacheControl(value: string | undefined): Record<string, string | true> {
  const directives: Record<string, string | true> = {};
  if (!value) return directives;
  for (const part of value.split(',')) {
    const equals = part.indexOf('=');
    const name = (equals === -1 ? part : part.slice(0, equals)).trim().toLowerCase();
    if (!name) continue;
    directives[name] =
      equals === -1
        ? true
        : part
            .slice(equals + 1)
            .trim()
            .replace(/^"|"$/g, '');
  }
  return directives;
}

/** A delta-seconds directive's value, or `undefined` when absent or not a number ≥ 0. */
function seconds(value: string | true | undefined): number | undefined {
  if (value === undefined || value === true) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Why a response must not be stored by a shared cache, or `undefined` when it may be: the
 * library's rules (method, status, `no-store`, `private`, `Authorization` without `public`,
 * `s-maxage` or `must-revalidate`), then mortar's — a `Set-Cookie` (so a session's cookie is
 * never handed to another client), `Vary: *`, and nothing to reuse (no lifetime, no validator).
 */
export function refusal(policy: CachePolicy, headers: Record<string, string>): string | undefined {
  const quick = quickRefusal(headers['set-cookie'], headers['cache-control'], headers.vary);
  if (quick !== undefined) return quick;
  if (!policy.storable()) return 'not-storable';
  if (policy.timeToLive() <= 0 && !hasValidator(headers)) return 'no-lifetime';
  return undefined;
}

/**
 * Why this exchange is not stored whatever the response's fields say, or `undefined`: not a
 * GET, a 206, an event stream, or a request that says `no-store`.
 * @param requestCacheControl - The request's `Cache-Control` (null when it has none);
 *   `contentType`, the response's (repeated fields joined by `, `).
 */
export function notStored(
  method: string,
  requestCacheControl: string | null,
  status: number,
  contentType: string | undefined,
): string | undefined {
  if (method !== 'GET') return 'method';
  if (status === 206) return 'partial';
  if (contentType !== undefined && isEventStream(contentType)) return 'event-stream';
  const cc = requestCacheControl;
  if (cc !== null && hasDirective(cc, 'no-store')) return 'request-no-store';
  return undefined;
}

/**
 * The refusals the response's own fields decide, before any policy is built (the cheap path of
 * a `no-store` route): `set-cookie`, `no-store`, `private`, `vary-star`. Each field's value
 * as `Headers.get` gives it (repeated fields joined by `, `), undefined when absent.
 */
export function quickRefusal(
  setCookie: string | undefined,
  cacheControl: string | undefined,
  vary: string | undefined,
): string | undefined {
  if (setCookie !== undefined) return 'set-cookie';
  if (cacheControl !== undefined) {
    if (hasDirective(cacheControl, 'no-store')) return 'no-store';
    if (hasDirective(cacheControl, 'private')) return 'private';
  }
  if (vary !== undefined && /(?:^|,)\s*\*\s*(?:,|$)/.test(vary)) return 'vary-star';
  return undefined;
}

/**
 * Why the application's answer is not stored, decided before any policy is built
 * ({@link notStored}, then {@link quickRefusal}), or `undefined` when a policy decides: its
 * fields read in one walk over the flat `[name, value, …]` list `responseParts` gives
 * (lower-case names), the four a refusal reads kept as they come — no object made for them
 * (what a remembered pass reads of an answer it does not store).
 * @param requestCacheControl - The request's `Cache-Control`, or null.
 */
export function earlyRefusal(
  method: string,
  requestCacheControl: string | null,
  status: number,
  list: readonly string[],
): string | undefined {
  let setCookie: string | undefined;
  let cacheControl: string | undefined;
  let vary: string | undefined;
  let contentType: string | undefined;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    // Each a store to a local of its own (a keyed store by name is slow in V8 here).
    if (name === 'cache-control') cacheControl = joined(cacheControl, list[i + 1]!);
    else if (name === 'content-type') contentType = joined(contentType, list[i + 1]!);
    else if (name === 'set-cookie') setCookie = joined(setCookie, list[i + 1]!);
    else if (name === 'vary') vary = joined(vary, list[i + 1]!);
  }
  return (
    notStored(method, requestCacheControl, status, contentType) ??
    quickRefusal(setCookie, cacheControl, vary)
  );
}

/** A repeated field's values as `Headers.get` joins them. */
const joined = (had: string | undefined, value: string): string =>
  had === undefined ? value : `${had}, ${value}`;

/** Whether a `Content-Type` is `text/event-stream` (whitespace before it, any case). */
export function isEventStream(type: string): boolean {
  let i = 0;
  while (type.charCodeAt(i) === 32 || type.charCodeAt(i) === 9) i++;
  // `text/` then an `e` (any case) before the slice is made: `text/plain`, `text/html` stop here.
  if (type.length - i < 17 || (type.charCodeAt(i + 5) | 0x20) !== 0x65) return false;
  return type.slice(i, i + 17).toLowerCase() === 'text/event-stream';
}

const DIRECTIVES = new Map<string, RegExp>();

/**
 * Whether a `Cache-Control` value has the directive `name` (with or without a value), read
 * without parsing every directive: what a refusal asks on every response. A directive name
 * inside another's quoted value counts too — a refusal, never a wrongful store.
 */
export function hasDirective(cacheControl: string, name: string): boolean {
  if (cacheControl === name) return true; // `no-store` alone: no pattern run
  let pattern = DIRECTIVES.get(name);
  if (!pattern) {
    pattern = new RegExp(`(?:^|,)\\s*${name}\\s*(?:=|,|$)`, 'i');
    DIRECTIVES.set(name, pattern);
  }
  return pattern.test(cacheControl);
}

/** Whether a stored response can be revalidated: it has an `ETag` or a `Last-Modified`. */
export function hasValidator(headers: Record<string, string>): boolean {
  return headers.etag !== undefined || headers['last-modified'] !== undefined;
}

/** What a stored response may do for a request. */
export type Verdict = 'fresh' | 'stale-while-revalidate' | 'revalidate';

/**
 * How a stored response answers `request` (RFC 9111 §4.2–4.3, RFC 5861): `fresh` (serve it),
 * `stale-while-revalidate` (serve it and refresh in the background) or `revalidate` (ask the
 * application first). Request directives `no-cache`, `max-age`, `min-fresh` and `max-stale`
 * are honoured, the last only for a response that allows stale reuse ({@link staleAllowed}).
 */
export function evaluate(
  policy: CachePolicy,
  header: HeaderOf,
  age = policy.age(),
  lifetime = policy.maxAge(),
): Verdict {
  const cacheControl = header.get('cache-control') ?? undefined;
  if (!cacheControl) {
    const pragma = header.get('pragma');
    if (pragma !== null && /no-cache/.test(pragma)) return 'revalidate';
    if (age < lifetime) return 'fresh'; // no request directive: the common hit
  }
  const cc = parseCacheControl(cacheControl);
  if (cc['no-cache']) return 'revalidate';
  const maxAge = seconds(cc['max-age']);
  if (maxAge !== undefined && age > maxAge) return 'revalidate';
  const minFresh = seconds(cc['min-fresh']);
  if (minFresh !== undefined && lifetime - age < minFresh) return 'revalidate';
  if (age < lifetime) return 'fresh';
  const stored = policyHeaders(policy);
  const rescc = parseCacheControl(stored['cache-control']);
  if ('max-stale' in cc && staleAllowed(rescc, stored)) {
    const maxStale = seconds(cc['max-stale']);
    if (cc['max-stale'] === true || (maxStale !== undefined && maxStale >= age - lifetime)) {
      return 'fresh';
    }
  }
  // `s-maxage` implies proxy-revalidate (§5.2.2.10), but a response that also says
  // `stale-while-revalidate` asks for it by name (RFC 5861; `s-maxage=60,
  // stale-while-revalidate=300` is what frameworks send their CDN): served stale, as CDNs do.
  const swr = seconds(rescc['stale-while-revalidate']) ?? 0;
  if (swr > 0 && age < lifetime + swr && !mustRevalidate(rescc)) return 'stale-while-revalidate';
  return 'revalidate';
}

/**
 * Whether the stale response may answer a client's `max-stale` without validation: not when it
 * says `must-revalidate` (§5.2.2.2), `proxy-revalidate` or `s-maxage` (§5.2.2.8, §5.2.2.10,
 * shared caches), or `no-cache` (§5.2.2.4), nor when it set a cookie.
 */
export function staleAllowed(
  rescc: Record<string, string | true>,
  headers: Record<string, string>,
): boolean {
  return (
    !mustRevalidate(rescc) &&
    !rescc['s-maxage'] &&
    !rescc['no-cache'] &&
    headers['set-cookie'] === undefined
  );
}

function mustRevalidate(rescc: Record<string, string | true>): boolean {
  return !!(rescc['must-revalidate'] || rescc['proxy-revalidate']);
}

/**
 * Whether a stale response may stand in for an error (RFC 5861 §4): within its
 * `stale-if-error` seconds past its lifetime, and not `must-revalidate`/`proxy-revalidate`.
 */
export function staleIfError(policy: CachePolicy): boolean {
  const rescc = parseCacheControl(policyHeaders(policy)['cache-control']);
  const window = seconds(rescc['stale-if-error']) ?? 0;
  return window > 0 && !mustRevalidate(rescc) && policy.age() < policy.maxAge() + window;
}

/** The stored response's header fields as the policy holds them. */
export function policyHeaders(policy: CachePolicy): Record<string, string> {
  return (policy.toObject() as { resh: Record<string, string> }).resh;
}

/**
 * The policy after a `304` (RFC 9111 §4.3.4): http-cache-semantics' update, plus the fields
 * the 304 brings that the stored response lacked (the library only replaces existing ones), and
 * the 304's own `Age` in place of the stored one. `notModified`: the 304's fields as
 * `storedFields` (stored-fields.ts) gives them.
 * `undefined` when the 304 does not select the stored response (another validator), or when
 * it changes `Vary` — the stored variant is then evicted.
 */
export function updatedPolicy(
  policy: CachePolicy,
  request: PolicyRequest,
  notModified: Record<string, string>,
): CachePolicy | undefined {
  const stored = policyHeaders(policy);
  if (notModified.vary !== undefined && notModified.vary !== stored.vary) return undefined;
  const { policy: updated, matches } = policy.revalidatedPolicy(request, {
    status: 304,
    headers: notModified,
  });
  if (!matches) return undefined;
  const object = updated.toObject() as { resh: Record<string, string> };
  for (const [name, value] of Object.entries(notModified)) {
    if (!(name in object.resh) && !NOT_UPDATED.has(name)) object.resh[name] = value;
  }
  // Its age starts again from the 304's own (the library would keep the stored `Age` and count
  // the time since the 304 on top of it: an entry that came with an Age past its lifetime
  // would then be revalidated on every request).
  if (notModified.age === undefined) delete object.resh.age;
  else object.resh.age = notModified.age;
  return policies().fromObject(object as unknown as CachePolicy.CachePolicyObject);
}

/** Fields a 304 never adds to a stored response (its framing, hop-by-hop, its own age). */
const NOT_UPDATED = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'content-range',
  'connection',
  'keep-alive',
  'age',
  'set-cookie',
]);

/** Parameters of one `Cache-Status` entry (RFC 9211 §2). */
export interface CacheStatus {
  hit?: boolean;
  /** `uri-miss`, `vary-miss`, `stale`, `request`, `method`, `bypass`. */
  fwd?: string;
  /** The status the application answered the forwarded request with. */
  fwdStatus?: number;
  /** Seconds of freshness left (negative when stale). */
  ttl?: number;
  stored?: boolean;
  collapsed?: boolean;
  detail?: string;
}

/** The `Cache-Status` field value for this cache: `mortar; hit; ttl=57`. */
export function cacheStatus(status: CacheStatus): string {
  let value = 'mortar';
  if (status.hit) value += '; hit';
  if (status.fwd) value += `; fwd=${status.fwd}`;
  if (status.fwdStatus !== undefined) value += `; fwd-status=${status.fwdStatus}`;
  if (status.ttl !== undefined) value += `; ttl=${Math.round(status.ttl)}`;
  if (status.stored) value += '; stored';
  if (status.collapsed) value += '; collapsed';
  if (status.detail) value += `; detail=${status.detail}`;
  return value;
}

/**
 * The header fields to serve a stored response with: its own (its `Date` kept, as nginx does),
 * less the hop-by-hop ones, and `Age` (RFC 9111 §5.1) of now in whole seconds.
 */
export function servedHeaders(policy: CachePolicy): Record<string, string> {
  const stored = policyHeaders(policy);
  const headers: Record<string, string> = {};
  for (const name in stored) if (!HOP_BY_HOP.has(name)) headers[name] = stored[name]!;
  headers.age = String(Math.floor(policy.age()));
  return headers;
}

/** The stored response's status code. */
export function statusOf(policy: CachePolicy): number {
  return (policy.toObject() as { st: number }).st;
}

/** Seconds of freshness left (negative when stale). */
export function ttlOf(policy: CachePolicy): number {
  return policy.maxAge() - policy.age();
}
