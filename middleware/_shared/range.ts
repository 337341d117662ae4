/**
 * Byte ranges (RFC 9110 §14) as pure functions: parsing `Range`, and the framing of a
 * `multipart/byteranges` body — shared by static() (ranges of a file) and cache() (ranges of a
 * stored response).
 */

/** An inclusive byte range: `start`…`end`, both within the representation. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What a `Range` header asks of a representation of `size` bytes:
 * - `undefined` — no usable Range (absent, another unit, malformed, or more than `maxRanges`
 *   ranges): answer the full 200, as RFC 9110 §14.2 allows;
 * - `'unsatisfiable'` — well-formed, but no range overlaps the representation: 416;
 * - a non-empty list of satisfiable ranges, sorted and with overlapping or adjacent ones
 *   coalesced (§14.2 recommends it against abusive range sets).
 *
 * A suffix range `bytes=-N` is the last N bytes (all of them when N ≥ size); `bytes=N-` runs
 * to the end; a last-byte position past the end is clipped.
 */
export function parseRange(
  header: string | null,
  size: number,
  maxRanges: number,
): ByteRange[] | 'unsatisfiable' | undefined {
  if (header === null) return undefined;
  const equals = header.indexOf('=');
  if (equals === -1 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return undefined;
  const specs = header.slice(equals + 1).split(',');
  if (specs.length > maxRanges) return undefined;
  const ranges: ByteRange[] = [];
  for (const raw of specs) {
    const spec = raw.trim();
    const match = /^(\d*)-(\d*)$/.exec(spec);
    if (!match || (match[1] === '' && match[2] === '')) return undefined;
    const [, first = '', last = ''] = match;
    if (first === '') {
      const suffix = Number(last);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Number(last);
    if (last !== '' && end < start) return undefined;
    if (start < size) ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (ranges.length === 0) return 'unsatisfiable';
  return coalesce(ranges);
}

function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [{ ...sorted[0]! }];
  for (const range of sorted.slice(1)) {
    const last = out[out.length - 1]!;
    if (range.start <= last.end + 1) last.end = Math.max(last.end, range.end);
    else out.push({ ...range });
  }
  return out;
}

/** The framing of a `multipart/byteranges` body (RFC 9110 §14.6). */
export interface Multipart {
  /** The value of the response's Content-Type. */
  contentType: string;
  /** The bytes before each part's data, in range order. */
  heads: Buffer[];
  /** The bytes after the last part. */
  tail: Buffer;
  /** The exact length of the whole body, in bytes. */
  length: number;
}

/** Frames `ranges` of a `size`-byte representation of type `type` as multipart/byteranges. */
export function multipartByteranges(
  ranges: readonly ByteRange[],
  size: number,
  type: string,
  boundary: string,
): Multipart {
  const heads = ranges.map((range, index) =>
    Buffer.from(
      `${index === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${type}\r\ncontent-range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`,
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let length = tail.byteLength;
  for (const [index, range] of ranges.entries()) {
    length += heads[index]!.byteLength + range.end - range.start + 1;
  }
  return { contentType: `multipart/byteranges; boundary=${boundary}`, heads, tail, length };
}

/** The whole `multipart/byteranges` body of `ranges` of `bytes` (the representation), as `framing` frames it. */
export function multipartBytes(
  framing: Multipart,
  ranges: readonly ByteRange[],
  bytes: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const [index, range] of ranges.entries()) {
    parts.push(framing.heads[index]!, bytes.subarray(range.start, range.end + 1));
  }
  parts.push(framing.tail);
  return Buffer.concat(parts) as Uint8Array<ArrayBuffer>;
}
