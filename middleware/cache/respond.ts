/**
 * The responses the cache builds: a stored one (with its `Age`, and a 304 when the client's own
 * validators match), and the application's own with `Cache-Status` added.
 */
import type { ResponseParts } from '../../src/_internal/response-parts.js';
import { FastResponse } from '../../src/response.js';
import { evaluatePreconditions } from '../_shared/conditional.js';
import { partsResponse } from '../_shared/parts.js';
import type { Entry, Lookup } from './entries.js';
import { type CacheStatus, cacheStatus, type HeaderOf, servedHeaders } from './policy.js';
import { rangeResponse } from './range.js';
import { ageOf, type Served, servedFor } from './served.js';

/**
 * The stored response for a `GET` or `HEAD` (no body), with `Age` (of now, or `age` seconds)
 * and `Cache-Status` (none for `status` undefined), its `Date` kept; a `304` when the
 * request's `If-None-Match` (weak comparison) or, without it, `If-Modified-Since` matches
 * (RFC 9110 §13.1); else a `206` or `416` for a `GET`'s `Range` on a stored `200`
 * (range.ts). A request with none of those fields is answered from the entry's field list as
 * it is (served.ts).
 */
export function storedResponse(
  method: string,
  request: HeaderOf,
  entry: Entry,
  status: CacheStatus | undefined,
  age?: number,
  plain = false,
): Response {
  const served = servedFor(entry);
  const now = age ?? ageOf(served);
  const code = served.status;
  // Range handling is defined for GET only (RFC 9110 §14.2), here of a stored 200.
  const range = plain || method !== 'GET' || code !== 200 ? null : request.get('range');
  if (
    plain ||
    (range === null &&
      request.get('if-none-match') === null &&
      request.get('if-modified-since') === null)
  ) {
    const body = method === 'HEAD' ? null : entry.body;
    return partsResponse({
      status: code,
      statusText: '',
      headers: shownFields(served, status, now),
      body,
    });
  }
  const value = status && cacheStatus({ ttl: served.lifetime - now, ...status });
  const headers = servedHeaders(entry.policy);
  headers.age = String(Math.floor(now));
  if (value !== undefined) headers['cache-status'] = value;
  if (notModified(method, request, headers, served)) {
    delete headers['content-length'];
    return new FastResponse(null, { status: 304, headers });
  }
  if (range !== null) {
    const partial = rangeResponse(range, request.get('if-range'), headers, entry.body);
    if (partial) return partial;
  }
  const body = method === 'HEAD' ? null : entry.body;
  return new FastResponse(body as BodyInit | null, { status: code, headers });
}

/**
 * The fields a hit is served with: the entry's own, `Age` (whole seconds of `now`) and
 * `Cache-Status` of `status` (none when undefined) — a copy of the list its last hit was
 * served with while the status and both numbers are the same (they change once a second).
 */
function shownFields(served: Served, status: CacheStatus | undefined, now: number): string[] {
  const age = Math.floor(now);
  const ttl = Math.round(served.lifetime - now);
  const last = served.shown;
  if (last !== undefined && last.status === status && last.age === age && last.ttl === ttl) {
    return last.fields.slice();
  }
  const fields = served.fields.slice();
  fields.push('age', String(age));
  if (status !== undefined) fields.push('cache-status', cacheStatus({ ttl, ...status }));
  served.shown = { status, age, ttl, fields };
  return fields.slice();
}

/** `Cache-Status` of a plain hit (one object: what a hit shows is made once per entry and second). */
export const HIT: CacheStatus = Object.freeze({ hit: true });

/** `status` when the cache sends `Cache-Status` (its `cacheStatus` option), else undefined. */
export function shownStatus(
  s: { cacheStatus: boolean },
  status: CacheStatus,
): CacheStatus | undefined {
  return s.cacheStatus ? status : undefined;
}

/**
 * The stored response when `found` is fresh, for a request with none of the fields a hit reads
 * (`plainRequest` in request.ts); else undefined.
 */
export function freshHit(
  method: string,
  header: HeaderOf,
  found: Lookup,
  s: { cacheStatus: boolean },
): Response | undefined {
  const entry = found.entry;
  if (entry === undefined || found.pass) return undefined;
  const served = servedFor(entry);
  const age = ageOf(served);
  if (age >= served.lifetime) return undefined;
  return storedResponse(method, header, entry, shownStatus(s, HIT), age, true);
}

/**
 * Whether the client's own validators select the stored response (RFC 9111 §4.3.2): a cache
 * answering from storage evaluates `If-None-Match` (weak comparison) and, without it,
 * `If-Modified-Since` — against `Last-Modified`, or the stored `Date` when it has none, or the
 * time it was received — and never `If-Match` or `If-Unmodified-Since` ("not applicable to a
 * cache": they are the origin's), by the shared rules of RFC 9110 §13.2.2. A request's
 * `no-cache` has been honoured already (the entry was revalidated), so it does not stop a 304.
 */
function notModified(
  method: string,
  request: HeaderOf,
  stored: Record<string, string>,
  served: Served,
): boolean {
  const conditions = {
    ifMatch: null,
    ifUnmodifiedSince: null,
    ifNoneMatch: request.get('if-none-match'),
    ifModifiedSince: request.get('if-modified-since'),
    cacheControl: null,
  };
  const validators = { etag: stored.etag, lastModified: modifiedAt(stored, served) };
  return evaluatePreconditions(method, conditions, validators) === 304;
}

/** `Last-Modified` in milliseconds, else the stored `Date`, else when it was received. */
function modifiedAt(stored: Record<string, string>, served: Served): number {
  for (const value of [stored['last-modified'], stored.date]) {
    const time = value === undefined ? Number.NaN : Date.parse(value);
    if (!Number.isNaN(time)) return time;
  }
  return served.responseTime;
}

/**
 * The application's response from its parts with `body` and `Cache-Status` (replacing the
 * application's own; `undefined`, the cache sends none: its field list is left as it is): on
 * Node the gateway writes the parts as they are (`partsResponse`).
 */
export function withStatus(
  parts: ResponseParts,
  body: unknown,
  status: CacheStatus | undefined,
): Response {
  parts.body = body as ResponseParts['body'];
  return withStatusValue(parts, status && cacheStatus(status));
}

/** {@link withStatus} of the body in `parts`, with a `Cache-Status` value made already. */
export function withStatusValue(parts: ResponseParts, value: string | undefined): Response {
  if (value === undefined) return partsResponse(parts);
  const list = parts.headers;
  if (list.includes('cache-status')) {
    for (let i = list.length - 2; i >= 0; i -= 2) if (list[i] === 'cache-status') list.splice(i, 2);
  }
  list.push('cache-status', value);
  return partsResponse(parts);
}

let lastPass = { status: 0, why: '', value: '' };

/** `Cache-Status` of a pass (the last one made is made again without a string built). */
export function passStatus(status: number, why: string): string {
  if (lastPass.status !== status || lastPass.why !== why) {
    lastPass = {
      status,
      why,
      value: cacheStatus({ fwd: 'uri-miss', fwdStatus: status, detail: why }),
    };
  }
  return lastPass.value;
}

/**
 * The answer to `only-if-cached` when nothing stored may answer it (RFC 9111 §5.2.1.7): a 504,
 * the application never asked; `Cache-Status` says why (`cacheStatus: false`, none).
 */
export function notCached(s: { cacheStatus: boolean }): Response {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (s.cacheStatus) headers['cache-status'] = cacheStatus({ detail: 'only-if-cached' });
  const body =
    '504 Gateway Timeout\n\nThe request said only-if-cached, and no stored response may answer it.\n';
  return new FastResponse(body, { status: 504, headers });
}

/** Reads and drops a body nobody will read (a stream is cancelled). */
export function discard(body: ResponseParts['body']): void {
  if (body instanceof ReadableStream) body.cancel().catch(() => {});
  else if (body && typeof (body as { destroy?: unknown }).destroy === 'function') {
    (body as unknown as { destroy(): void }).destroy();
  }
}
