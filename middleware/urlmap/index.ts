/**
 * `mortar/urlmap` — mount applications under URL prefixes (paste.urlmap.URLMap, Werkzeug's
 * DispatcherMiddleware, Hono's `mount`), and try applications in turn (paste.cascade).
 *
 * ```ts
 * import { Hono } from 'hono';
 * import { urlmap } from 'mortar/urlmap';
 *
 * const api = new Hono().get('/users/:id', (c) => c.json({ id: c.req.param('id') }));
 * const app = urlmap({
 *   '/': application,
 *   '/api': api.fetch,                           // a foreign fetch handler, unchanged
 *   '/blog': site,
 *   'http://admin.localhost/': admin,            // a host key
 * });
 * ```
 *
 * Matching: the longest prefix wins, on path-segment boundaries only (`/blog` matches
 * `/blog`, `/blog/` and `/blog/x`, never `/blogs`); percent-escapes compare by what they
 * decode to, so `/caf%C3%A9` matches a `/café` key. Host keys (`'http://example.com/path'`,
 * or `{ host, path }` in the array form) are tried before host-less ones; the host compares
 * case-insensitively, and a key without a port matches any port. The scheme of a host key is
 * ignored.
 *
 * The mount invariant (DESIGN.md §1): the mounted application sees `request.url` without the
 * prefix (query kept; method, headers, body and signal untouched), `environ.scriptName` gains
 * the prefix as the client sent it and `environ.pathInfo` keeps the rest. The mount point
 * itself (`/blog`) arrives as pathInfo `''` and URL path `/`. A path whose rest would start
 * with `//` (`/blog//evil.example`) is never handed on as a protocol-relative path: it gets a
 * 308 to the same path with the slashes after the prefix merged.
 *
 * A request that no mount matches gets a plain 404 negotiated by `Accept` that never lists
 * the mounts (Paste's listing had an XSS); the `notFound` option replaces it.
 * @module mortar/urlmap
 */

export { type CascadeOptions, cascade } from './cascade.js';
export { type MountKey, type URLMapOptions, type URLMapping, urlmap } from './urlmap.js';
