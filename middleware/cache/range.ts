/**
 * Byte ranges of a stored full response (RFC 9110 §14; RFC 9111 §3.4 is the cache's side): a
 * `GET` with `Range` answered from a fresh stored `200` gets a `206` of one range, or of several
 * as `multipart/byteranges` (as static() answers them), and a `416` with
 * `Content-Range: bytes *​/length` when no range overlaps. An `If-Range` that does not match the
 * stored validators, a Range header in another unit, malformed or of more than
 * {@link MAX_RANGES} ranges, or a stored status other than 200 get the full response
 * (§14.2 lets a server ignore Range).
 */

import { FastResponse } from '../../src/response.js';
import { ifRangeMatches } from '../_shared/conditional.js';
import { multipartByteranges, multipartBytes, parseRange } from '../_shared/range.js';

/** More ranges than this in one request: the full response (static()'s default `maxRanges`). */
export const MAX_RANGES = 16;

/**
 * The `206` or `416` for `range` of a stored `200` whose `body` is served with `headers`
 * (its own, `Age` and `Cache-Status` included), or `undefined` to answer with the full response.
 */
export function rangeResponse(
  range: string,
  ifRange: string | null,
  headers: Record<string, string>,
  body: Uint8Array,
): Response | undefined {
  const modified = headers['last-modified'];
  const lastModified = modified === undefined ? Number.NaN : Date.parse(modified);
  const validators = {
    etag: headers.etag,
    lastModified: Number.isNaN(lastModified) ? undefined : lastModified,
  };
  if (!ifRangeMatches(ifRange, validators)) return undefined;
  const size = body.byteLength;
  const ranges = parseRange(range, size, MAX_RANGES);
  if (ranges === undefined) return undefined;
  delete headers['content-length'];
  if (ranges === 'unsatisfiable') {
    for (const name of ['content-type', 'content-encoding', 'content-language'])
      delete headers[name];
    headers['content-range'] = `bytes */${size}`;
    return new FastResponse(null, { status: 416, headers });
  }
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
    headers['content-length'] = String(end - start + 1);
    return new FastResponse(body.subarray(start, end + 1) as BodyInit, { status: 206, headers });
  }
  const type = headers['content-type'] ?? 'application/octet-stream';
  const framing = multipartByteranges(ranges, size, type, `mortar-${crypto.randomUUID()}`);
  delete headers['content-range'];
  headers['content-type'] = framing.contentType;
  headers['content-length'] = String(framing.length);
  return new FastResponse(multipartBytes(framing, ranges, body), { status: 206, headers });
}
