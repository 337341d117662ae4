/**
 * The SCGI request header, pure: a netstring (`length:bytes,`) of NUL-separated
 * meta-variable names and values, as the SCGI protocol defines it. No I/O.
 */

/**
 * Parses the SCGI header netstring at the start of `data`.
 * @returns The meta-variables and the bytes after the netstring; `undefined` when more data
 *   is needed.
 * @throws Error for a malformed netstring or one over `maxSize` bytes.
 */
export function parseSCGIHeader(
  data: Buffer,
  maxSize: number,
): { meta: Record<string, string>; rest: Buffer } | undefined {
  const colon = data.indexOf(0x3a);
  if (colon === -1) {
    if (data.length > 10) throw new Error('the netstring length is not a number');
    return undefined;
  }
  const lengthText = data.toString('latin1', 0, colon);
  if (!/^\d{1,10}$/.test(lengthText)) throw new Error('the netstring length is not a number');
  const length = Number(lengthText);
  if (length > maxSize) throw new Error(`the SCGI header is ${length} bytes, over ${maxSize}`);
  if (data.length < colon + 1 + length + 1) return undefined;
  if (data[colon + 1 + length] !== 0x2c) throw new Error('the netstring does not end with ","');
  const fields = data.toString('latin1', colon + 1, colon + 1 + length).split('\0');
  const meta: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) meta[fields[i]!] = fields[i + 1]!;
  return { meta, rest: data.subarray(colon + 2 + length) };
}
