/**
 * Content-coding negotiation (RFC 9110 §12.5.3) over the precompressed variants on disk.
 */

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
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.split(';');
    const coding = name.trim().toLowerCase();
    if (!coding) continue;
    let value = 1;
    for (const param of params) {
      const [key, raw] = param.split('=');
      if (key?.trim().toLowerCase() === 'q') {
        const parsed = Number(raw?.trim());
        value = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      }
    }
    q.set(coding === 'x-gzip' ? 'gzip' : coding, value);
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
