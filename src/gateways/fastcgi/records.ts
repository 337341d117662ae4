/**
 * FastCGI 1.0 records, pure: the constants of the specification, encoding a record, reading
 * one from a buffer, and the name-value pairs of PARAMS and GET_VALUES. No I/O.
 */

// Record types and constants of the FastCGI 1.0 specification.
export const BEGIN_REQUEST = 1;
export const ABORT_REQUEST = 2;
export const END_REQUEST = 3;
export const PARAMS = 4;
export const STDIN = 5;
export const STDOUT = 6;
export const GET_VALUES = 9;
export const GET_VALUES_RESULT = 10;
export const UNKNOWN_TYPE = 11;
export const RESPONDER = 1;
export const KEEP_CONN = 1;
export const REQUEST_COMPLETE = 0;
export const UNKNOWN_ROLE = 3;
/** END_REQUEST protocol status: the application is at its FCGI_MAX_REQS. */
export const OVERLOADED = 2;
/** The largest content of one record, in bytes. */
export const MAX_CONTENT = 65_535;
/** The size of a record header, in bytes. */
export const HEADER_SIZE = 8;

const EMPTY = new Uint8Array(0);

/** Encodes one record (padding the content to a multiple of 8 bytes, as the spec suggests). */
export function encodeRecord(type: number, requestId: number, content: Uint8Array = EMPTY): Buffer {
  const padding = (8 - (content.byteLength % 8)) % 8;
  const out = Buffer.allocUnsafe(HEADER_SIZE + content.byteLength + padding);
  out[0] = 1;
  out[1] = type;
  out.writeUInt16BE(requestId, 2);
  out.writeUInt16BE(content.byteLength, 4);
  out[6] = padding;
  out[7] = 0;
  out.set(content, HEADER_SIZE);
  out.fill(0, HEADER_SIZE + content.byteLength);
  return out;
}

/** One record read from a buffer. */
export interface FastCGIRecord {
  type: number;
  requestId: number;
  /** A view into the buffer it was read from (copy it to keep it). */
  content: Buffer;
  /** Offset of the byte after the record (its padding included). */
  next: number;
}

/**
 * Reads the record at `offset` of `buffer`.
 *
 * @returns The record; `undefined` when the buffer holds only part of it; `{ error }` when
 *   its header is not a FastCGI 1 header.
 */
export function readRecord(
  buffer: Buffer,
  offset: number,
): FastCGIRecord | undefined | { error: string } {
  if (buffer.length - offset < HEADER_SIZE) return undefined;
  if (buffer[offset] !== 1) return { error: 'a record with a version other than 1' };
  const length = buffer.readUInt16BE(offset + 4);
  const padding = buffer[offset + 6]!;
  if (buffer.length - offset < HEADER_SIZE + length + padding) return undefined;
  return {
    type: buffer[offset + 1]!,
    requestId: buffer.readUInt16BE(offset + 2),
    content: buffer.subarray(offset + HEADER_SIZE, offset + HEADER_SIZE + length),
    next: offset + HEADER_SIZE + length + padding,
  };
}

/** Decodes FastCGI name-value pairs (1- or 4-byte lengths). @throws Error when one is cut. */
export function decodePairs(data: Buffer): Record<string, string> {
  const pairs: Record<string, string> = {};
  let offset = 0;
  const length = (): number => {
    const first = data[offset]!;
    if (first < 0x80) {
      offset += 1;
      return first;
    }
    const value = data.readUInt32BE(offset) & 0x7fffffff;
    offset += 4;
    return value;
  };
  while (offset < data.length) {
    const nameLength = length();
    const valueLength = length();
    if (offset + nameLength + valueLength > data.length)
      throw new Error('truncated name-value pair');
    const name = data.toString('latin1', offset, offset + nameLength);
    offset += nameLength;
    pairs[name] = data.toString('latin1', offset, offset + valueLength);
    offset += valueLength;
  }
  return pairs;
}

/** Encodes FastCGI name-value pairs. */
export function encodePairs(pairs: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const length = (n: number): Buffer => {
    if (n < 0x80) return Buffer.from([n]);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0);
    return b;
  };
  for (const [name, value] of Object.entries(pairs)) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(length(n.length), length(v.length), n, v);
  }
  return Buffer.concat(parts);
}

/** The content of an END_REQUEST record. */
export function endRequestBody(appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return body;
}

/** The content of an UNKNOWN_TYPE record answering a management record of `type`. */
export function unknownTypeBody(type: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = type;
  return body;
}
