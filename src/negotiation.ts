/**
 * Content negotiation (RFC 9110 §12): the weighted lists of `Accept` and `Accept-Encoding`,
 * and the choice among what the server offers.
 */

/** One member of a weighted list: its value (lower case, parameters dropped) and q-value. */
export interface Weighted {
  value: string;
  /** 0–1; a malformed q-value reads as 0 (not acceptable), the safe reading. */
  q: number;
}

/** Parses a comma-separated list with optional `;q=` weights (RFC 9110 §12.4.2). */
export function parseWeightedList(header: string): Weighted[] {
  const list: Weighted[] = [];
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';');
    const value = name.trim().toLowerCase();
    if (!value) continue;
    let q = 1;
    for (const param of params) {
      const [key, raw] = param.split('=');
      if (key?.trim().toLowerCase() === 'q') {
        const parsed = Number(raw?.trim());
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      }
    }
    list.push({ value, q });
  }
  return list;
}

/**
 * The offer the client prefers by its `Accept` header (RFC 9110 §12.5.1): highest q-value,
 * then most specific range, then the order of `offers`. `q=0` excludes.
 *
 * @param accept - The header value; `null`/`undefined`/empty means "anything": the first offer.
 * @param offers - Media types such as `text/html`, most preferred by the server first.
 * @returns The chosen offer, or `undefined` when the header excludes every one.
 */
export function preferredMediaType<T extends string>(
  accept: string | null | undefined,
  offers: readonly T[],
): T | undefined {
  if (!accept) return offers[0];
  const ranges = parseWeightedList(accept).flatMap(({ value, q }) => {
    const [type, subtype] = value.split('/');
    return type && subtype ? [{ type, subtype, q }] : [];
  });
  let best: T | undefined;
  let bestQ = 0;
  let bestSpecificity = -1;
  for (const offer of offers) {
    const [type, subtype] = offer.split('/');
    let q = -1;
    let specificity = -1;
    for (const range of ranges) {
      const s =
        range.type === type && range.subtype === subtype
          ? 2
          : range.type === type && range.subtype === '*'
            ? 1
            : range.type === '*' && range.subtype === '*'
              ? 0
              : -1;
      if (s > specificity) {
        specificity = s;
        q = range.q;
      }
    }
    if (q > bestQ || (q === bestQ && q > 0 && specificity > bestSpecificity)) {
      best = offer;
      bestQ = q;
      bestSpecificity = specificity;
    }
  }
  return best;
}

/**
 * The coding to send, or `'identity'`.
 *
 * @param acceptEncoding - The request's header; absent means only identity is known to be
 *   acceptable (we never send a coding the client did not ask for).
 * @param available - Codings with a variant on disk, in the server's order of preference
 *   (which breaks ties between equal q-values).
 * @returns The available coding with the highest q-value above 0 (`*` stands for any coding
 *   not named; `gzip;q=0` forbids), or `'identity'` when none is acceptable or `identity` is
 *   given a higher q-value than all of them.
 */
export function negotiateEncoding(
  acceptEncoding: string | null,
  available: readonly string[],
): string {
  if (!acceptEncoding || available.length === 0) return 'identity';
  const q = new Map<string, number>();
  for (const { value, q: weight } of parseWeightedList(acceptEncoding)) {
    q.set(value === 'x-gzip' ? 'gzip' : value, weight);
  }
  let best = 'identity';
  let bestQ = 0;
  for (const coding of available) {
    const value = q.get(coding) ?? q.get('*') ?? 0;
    if (value > bestQ) {
      best = coding;
      bestQ = value;
    }
  }
  // An explicit `identity;q=…` higher than every coding wins; on a tie, the coding does.
  const identity = q.get('identity');
  return identity !== undefined && identity > bestQ ? 'identity' : best;
}
