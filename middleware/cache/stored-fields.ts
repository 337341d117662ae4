/**
 * A response's header fields as the cache stores them, and as its policy reads them: what
 * RFC 9111 says a cache never stores dropped, `Cache-Control` read by the RFC's rules where
 * http-cache-semantics reads it otherwise, and `Age` corrected for what happened before the
 * response reached the cache.
 */
import { connectionNames, HOP_BY_HOP } from '../_shared/hop-by-hop.js';

/** RFC 9111 §1.2.2: a delta-seconds value past this is this. */
const GREATEST_AGE = 2_147_483_648;

/**
 * The fields of a response (lower-case names, repeated fields joined) to store and to build its
 * policy from:
 * - without the hop-by-hop and proxy authentication fields, `Connection` and every field it
 *   names (RFC 9111 §3.1);
 * - `Cache-Control`'s directive names in lower case and, of a directive given twice, the first
 *   (RFC 9111 §5.2: names are case-insensitive; §4.2.1: the first occurrence is used) —
 *   http-cache-semantics takes them as written, and the last of two;
 * - `Age` as the corrected initial age (RFC 9111 §4.2.3), in whole seconds: the larger of the
 *   apparent age (`responseTime` less `Date`) and the `Age` it came with plus the response
 *   delay (`responseTime` less `requestTime`, when known) — none when that is 0.
 * @param requestTime - Milliseconds since the epoch when the request went to the application;
 *   `undefined` when not known (the delay then counts as 0).
 * @param responseTime - Milliseconds since the epoch when its response came back.
 */
export function storedFields(
  headers: Readonly<Record<string, string>>,
  requestTime: number | undefined,
  responseTime: number,
): Record<string, string> {
  const named = connectionNames(headers.connection);
  const fields: Record<string, string> = {};
  for (const name in headers) {
    // A `Connection` that names no valid field: only its own fields are dropped.
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    fields[name] = headers[name]!;
  }
  const cacheControl = fields['cache-control'];
  if (cacheControl !== undefined) fields['cache-control'] = firstDirectives(cacheControl);
  const age = initialAge(headers, requestTime, responseTime);
  if (age > 0) fields.age = String(age);
  else delete fields.age;
  return fields;
}

/** RFC 9111 §4.2.3's `corrected_initial_age`, in whole seconds. */
function initialAge(
  headers: Readonly<Record<string, string>>,
  requestTime: number | undefined,
  responseTime: number,
): number {
  const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date);
  const apparent = Number.isFinite(date) ? Math.max(0, responseTime - date) / 1000 : 0;
  const given = /^\s*(\d+)\s*$/.exec(headers.age ?? '');
  const ageValue = given ? Math.min(Number(given[1]), GREATEST_AGE) : 0;
  const delay = requestTime === undefined ? 0 : Math.max(0, responseTime - requestTime) / 1000;
  return Math.min(Math.floor(Math.max(apparent, ageValue + delay)), GREATEST_AGE);
}

/**
 * A `Cache-Control` value with each directive's name in lower case and a repeated directive
 * kept at its first occurrence — the value itself when it has neither (the common case). Commas
 * inside a quoted value (`no-cache="a, b"`) do not split it.
 */
export function firstDirectives(value: string): string {
  const directives = splitDirectives(value);
  const seen = new Set<string>();
  const kept: string[] = [];
  let changed = false;
  for (const directive of directives) {
    const equals = directive.indexOf('=');
    const written = (equals === -1 ? directive : directive.slice(0, equals)).trim();
    const name = written.toLowerCase();
    if (name === '') continue;
    if (seen.has(name)) {
      changed = true;
      continue;
    }
    seen.add(name);
    if (name !== written) changed = true;
    kept.push(equals === -1 ? name : `${name}=${directive.slice(equals + 1).trim()}`);
  }
  return changed ? kept.join(', ') : value;
}

/** The comma-separated directives of a `Cache-Control` value, quoted strings kept whole. */
function splitDirectives(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}
