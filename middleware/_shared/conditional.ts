/**
 * Conditional requests (RFC 9110 §13) as pure functions over header values — send's
 * `isPreconditionFailure`/`isFresh`/`isRangeFresh`, restated to the letter of the RFC.
 */

/** The validators of the selected representation. */
export interface Validators {
  /** The entity tag, quoted, `W/`-prefixed when weak: `W/"1a-18c"`. Absent when disabled. */
  etag?: string | undefined;
  /** Last modification, in milliseconds since the epoch. Absent when disabled. */
  lastModified?: number | undefined;
}

/** The request headers that take part, as `Headers.get` returns them. */
export interface ConditionalHeaders {
  ifMatch: string | null;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  ifUnmodifiedSince: string | null;
  cacheControl: string | null;
}

/**
 * Evaluates the preconditions in RFC 9110 §13.2.2's order, for a representation that exists.
 *
 * @returns `412` (Precondition Failed), `304` (Not Modified, for GET/HEAD only), or `200` to
 *   go on. A request `Cache-Control: no-cache` never yields a 304.
 */
export function evaluatePreconditions(
  method: string,
  headers: ConditionalHeaders,
  validators: Validators,
): 200 | 304 | 412 {
  const { etag, lastModified } = validators;
  // 1–2: If-Match (strong comparison), else If-Unmodified-Since.
  if (headers.ifMatch !== null) {
    if (!matchesAny(headers.ifMatch, etag, strongMatch)) return 412;
  } else if (headers.ifUnmodifiedSince !== null && lastModified !== undefined) {
    const date = parseHTTPDate(headers.ifUnmodifiedSince);
    if (date !== undefined && seconds(lastModified) > date) return 412;
  }
  const safe = method === 'GET' || method === 'HEAD';
  // 3–4: If-None-Match (weak comparison), else If-Modified-Since (GET/HEAD only).
  let notModified = false;
  if (headers.ifNoneMatch !== null) {
    if (matchesAny(headers.ifNoneMatch, etag, weakMatch)) {
      if (!safe) return 412;
      notModified = true;
    }
  } else if (safe && headers.ifModifiedSince !== null && lastModified !== undefined) {
    const date = parseHTTPDate(headers.ifModifiedSince);
    notModified = date !== undefined && seconds(lastModified) <= date;
  }
  if (notModified && !hasNoCache(headers.cacheControl)) return 304;
  return 200;
}

/**
 * Whether a Range request's `If-Range` lets the range apply (RFC 9110 §13.1.5): an entity
 * tag must match strongly (a weak tag never does); a date must equal Last-Modified exactly.
 * No `If-Range` header: true.
 */
export function ifRangeMatches(ifRange: string | null, validators: Validators): boolean {
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/"')) {
    return validators.etag !== undefined && strongMatch(value, validators.etag);
  }
  const date = parseHTTPDate(value);
  return (
    date !== undefined &&
    validators.lastModified !== undefined &&
    seconds(validators.lastModified) === date
  );
}

/** An HTTP-date (RFC 9110 §5.6.7, any of the three forms) in whole seconds, or undefined. */
export function parseHTTPDate(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

function hasNoCache(cacheControl: string | null): boolean {
  return cacheControl !== null && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(cacheControl);
}

function strongMatch(a: string, b: string): boolean {
  return a === b && !a.startsWith('W/');
}

function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}

const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** `*` matches any current representation; otherwise a comma-separated list of tags. */
function matchesAny(
  header: string,
  etag: string | undefined,
  compare: (a: string, b: string) => boolean,
): boolean {
  if (header.trim() === '*') return true;
  if (etag === undefined) return false;
  for (const tag of header.split(',')) {
    if (compare(tag.trim(), etag)) return true;
  }
  return false;
}
