/**
 * From `environ.pathInfo` to safe path segments: decode once, refuse anything that is not the
 * one canonical spelling of a path inside the root (Werkzeug's `safe_join`, h3's
 * canonical-path rule).
 */

/** The outcome of {@link parseStaticPath}. */
export type StaticPath =
  /** Decoded segments (no empty, `.` or `..` ones) and whether the path ended in `/`. */
  | { segments: string[]; trailingSlash: boolean }
  /** Malformed: a bad %-escape, invalid UTF-8, or a NUL byte. Answer 400. */
  | { error: string }
  /** Well-formed but never served (traversal, backslash, encoded separator, `//`). */
  | { refused: string };

/**
 * Parses a percent-encoded path (`''` or starting with `/`).
 *
 * Refused: `.`/`..` segments (also as `%2e`), empty segments (`//x`), backslashes, encoded
 * `/` or `\` (`%2F`, `%5C`), and what decoding once leaves still encoded as a dot, slash or
 * backslash (`%252e` → `%2e`): a double-encoded attack, never a real file name we serve.
 */
export function parseStaticPath(pathInfo: string): StaticPath {
  if (pathInfo === '' || pathInfo === '/') return { segments: [], trailingSlash: pathInfo === '/' };
  const trailingSlash = pathInfo.endsWith('/');
  const body = pathInfo.slice(1, trailingSlash ? -1 : undefined);
  const segments: string[] = [];
  for (const raw of body.split('/')) {
    if (raw === '') return { refused: 'empty path segment' };
    let segment = raw;
    if (raw.includes('%')) {
      if (/%(?:2f|5c)/i.test(raw)) return { refused: 'encoded "/" or "\\"' };
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return { error: 'malformed %-escape in the path' };
      }
      if (/%(?:2e|2f|5c)/i.test(segment)) return { refused: 'double-encoded path characters' };
    }
    if (segment.includes('\0')) return { error: 'NUL byte in the path' };
    if (segment === '.' || segment === '..') return { refused: 'dot segment' };
    if (segment.includes('\\')) return { refused: 'backslash in the path' };
    segments.push(segment);
  }
  return { segments, trailingSlash };
}

/** Dotfile policy: whether any segment is a dotfile not in `allowed`. */
export function hasDotfile(segments: readonly string[], allowed: ReadonlySet<string>): boolean {
  for (const segment of segments) {
    if (segment.charCodeAt(0) === 46 /* . */ && !allowed.has(segment)) return true;
  }
  return false;
}
