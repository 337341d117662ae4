/**
 * `mortar/static` — static files: `serveStatic(root)` for a folder (Werkzeug's
 * SharedDataMiddleware, serve-static), `fileApp(path)` for one file (paste.fileapp.FileApp).
 *
 * ```ts
 * import { serveStatic, fileApp } from 'mortar/static';
 * const app = compose(serveStatic('public', { maxAge: 3600, precompressed: ['br', 'gzip'] }))(site);
 * const favicon = fileApp('public/favicon.ico', { maxAge: 86400 });
 * ```
 *
 * `serveStatic` answers GET and HEAD for files under `root`, found from `environ.pathInfo`
 * (so it works under a mount), and passes every other request to the application it wraps.
 * It follows RFC 9110 to the letter where send and sirv do not: conditional requests in §13's
 * order of evaluation (strong comparison for If-Match and If-Range, weak for If-None-Match),
 * suffix and multiple ranges (coalesced, multipart/byteranges), 416 with
 * `Content-Range: bytes *​/size`, precompressed variants chosen by q-value with
 * `Vary: Accept-Encoding` and a distinct ETag each.
 *
 * Options (defaults):
 * - `index` (`['index.html']`), `redirect` (`true`: a directory without its trailing slash gets
 *   a 301 to `scriptName + pathInfo + '/'`, query kept), `listing` (`false`);
 * - `dotfiles` (`'ignore'`: as if absent; `'deny'`: 403; `'allow'`), `allowDotfiles`
 *   (`['.well-known']`);
 * - `followSymlinks` (`'inside'`: only links whose target stays under the root; `true`; `false`);
 * - `fallthrough` (`true`; `false` answers 404/405 itself);
 * - `maxAge` (seconds, `0`), `immutable` (`false`), `etag` (`true`), `lastModified` (`true`),
 *   `setHeaders` (none);
 * - `precompressed` (`[]`; e.g. `['br', 'gzip']`, in order of preference), `maxRanges` (`16`);
 * - `cache`: the metadata cache — `{ ttl }` in seconds (default `5` when
 *   `NODE_ENV=production`, else off), `false` to disable; `contentCache`: files up to
 *   `maxFileSize` bytes (64 KiB) kept in memory up to `maxSize` bytes (32 MiB) in all,
 *   checked against size and mtime on every use, `false` to disable.
 */
import { realpathSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import contentDisposition from 'content-disposition';
import mime from 'mime-types';
import { errorResponse, escapeHTML } from '../../src/http-error.js';
import { negotiateEncoding } from '../../src/negotiation.js';
import { requestHeader } from '../../src/request-header.js';
import { FastResponse } from '../../src/response.js';
import type { Application, Environ, Middleware } from '../../src/types.js';
import { type ConditionalHeaders, evaluatePreconditions, ifRangeMatches } from './conditional.js';
import { type Entry, FileView, fileStream, multipartStream, type SymlinkPolicy } from './files.js';
import { hasDotfile, parseStaticPath } from './path.js';
import { type ByteRange, multipartByteranges, parseRange } from './range.js';

export {
  type ConditionalHeaders,
  evaluatePreconditions,
  ifRangeMatches,
  parseHTTPDate,
  type Validators,
} from './conditional.js';
export { parseStaticPath } from './path.js';
export { multipartByteranges, parseRange } from './range.js';

/** What `setHeaders` learns of the file being served. */
export interface StaticFileInfo {
  /** Absolute path of the file sent (the precompressed variant when one is sent). */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Last modification, in milliseconds since the epoch. */
  mtimeMs: number;
}

/** Options shared by {@link serveStatic} and {@link fileApp}; see the module comment. */
export interface FileOptions {
  /** `Cache-Control: public, max-age=…`, in seconds. Default `0`. */
  maxAge?: number;
  /** Adds `immutable` to Cache-Control. Default `false`. */
  immutable?: boolean;
  /** Send a weak ETag (from size, mtime and content coding). Default `true`. */
  etag?: boolean;
  /** Send Last-Modified. Default `true`. */
  lastModified?: boolean;
  /** Precompressed variants to look for (`file.br`, `file.gz`, `file.zst`), preferred first. */
  precompressed?: readonly ('br' | 'gzip' | 'zstd')[];
  /** More ranges than this in one request are answered with the full 200. Default `16`. */
  maxRanges?: number;
  /** Changes or adds response headers before the response is built. */
  setHeaders?: (headers: Headers, file: StaticFileInfo) => void;
  /** Metadata cache: `{ ttl }` in seconds; default 5 s in production, off otherwise. */
  cache?: { ttl?: number; maxEntries?: number } | false;
  /** Small-file content cache; default `{ maxFileSize: 65536, maxSize: 33554432 }` (bytes). */
  contentCache?: { maxFileSize?: number; maxSize?: number } | false;
}

/** Options of {@link serveStatic}. */
export interface StaticOptions extends FileOptions {
  /** Files tried for a directory request ending in `/`. Default `['index.html']`; `false`: none. */
  index?: readonly string[] | false;
  /** 301 a directory request without its trailing slash. Default `true`. */
  redirect?: boolean;
  /** Render an HTML listing of a directory without an index file. Default `false`. */
  listing?: boolean;
  /** Paths with a segment starting with `.`: `'ignore'` (default), `'deny'` (403), `'allow'`. */
  dotfiles?: 'ignore' | 'deny' | 'allow';
  /** Dot-named segments served whatever the policy. Default `['.well-known']`. */
  allowDotfiles?: readonly string[];
  /** Symlinks: `'inside'` (default: targets under the root only), `true`, `false` (none). */
  followSymlinks?: SymlinkPolicy;
  /** Pass requests not served to the wrapped application. Default `true`. */
  fallthrough?: boolean;
}

/** Options of {@link fileApp}. */
export interface FileAppOptions extends FileOptions {
  /** Content-Type; default from the file name. */
  contentType?: string;
  /** Send as a download: `Content-Disposition: attachment` with this file name (RFC 6266). */
  download?: string;
}

const EXTENSIONS: Record<string, string> = { br: '.br', gzip: '.gz', zstd: '.zst' };
const ALLOW = { allow: 'GET, HEAD' };

interface Settings {
  view: FileView;
  /** Per looked-up file entry, what its responses share (see {@link representation}). */
  representations: WeakMap<FileEntry, Representation>;
  /** A fixed Content-Type (fileApp), else from the file name. */
  contentType: string | undefined;
  /** A Content-Disposition value (fileApp's download). */
  disposition: string | undefined;
  cacheControl: string;
  etag: boolean;
  lastModified: boolean;
  precompressed: readonly string[];
  maxRanges: number;
  setHeaders: FileOptions['setHeaders'];
}

function settings(
  options: FileOptions & { contentType?: string; download?: string },
  root: string | undefined,
  followSymlinks: SymlinkPolicy,
): Settings {
  const maxAge = options.maxAge ?? 0;
  if (!Number.isInteger(maxAge) || maxAge < 0) {
    throw new TypeError(
      `static: options.maxAge must be a whole number of seconds ≥ 0, got ${maxAge}`,
    );
  }
  const precompressed = options.precompressed ?? [];
  for (const coding of precompressed) {
    if (!(coding in EXTENSIONS)) {
      throw new TypeError(
        `static: options.precompressed: unknown coding "${coding}" (br, gzip, zstd)`,
      );
    }
  }
  const production = process.env.NODE_ENV === 'production';
  const cache = options.cache ?? (production ? {} : false);
  const contentCache = options.contentCache ?? {};
  return {
    view: new FileView({
      root,
      followSymlinks,
      ttl: cache === false ? 0 : (cache.ttl ?? 5) * 1000,
      maxEntries: cache === false ? 0 : (cache.maxEntries ?? 10_000),
      maxCachedFile: contentCache === false ? -1 : (contentCache.maxFileSize ?? 64 * 1024),
      maxCachedBytes: contentCache === false ? 0 : (contentCache.maxSize ?? 32 * 1024 * 1024),
    }),
    representations: new WeakMap(),
    contentType: options.contentType,
    disposition: options.download === undefined ? undefined : contentDisposition(options.download),
    cacheControl: `public, max-age=${maxAge}${options.immutable ? ', immutable' : ''}`,
    etag: options.etag ?? true,
    lastModified: options.lastModified ?? true,
    precompressed,
    maxRanges: options.maxRanges ?? 16,
    setHeaders: options.setHeaders,
  };
}

/**
 * Serves the files under `root` and passes every request it does not serve to the wrapped
 * application.
 *
 * @param root - A folder; relative paths resolve from the current directory.
 * @throws Error at construction when `root` does not exist or is not a folder; TypeError for
 *   a bad option (each message names it).
 */
export function serveStatic(root: string, options: StaticOptions = {}): Middleware {
  let realRoot: string;
  try {
    realRoot = realpathSync(path.resolve(root));
  } catch {
    throw new Error(`serveStatic: root ${JSON.stringify(root)} does not exist`);
  }
  if (!statSync(realRoot).isDirectory()) {
    throw new Error(`serveStatic: root ${JSON.stringify(root)} is not a folder`);
  }
  const dotfiles = options.dotfiles ?? 'ignore';
  if (!['ignore', 'deny', 'allow'].includes(dotfiles)) {
    throw new TypeError(
      `serveStatic: options.dotfiles must be ignore, deny or allow, got ${dotfiles}`,
    );
  }
  const config: Omit<Mount, 'app'> = {
    root: realRoot,
    shared: settings(options, realRoot, options.followSymlinks ?? 'inside'),
    index: options.index === false ? [] : (options.index ?? ['index.html']),
    redirect: options.redirect ?? true,
    listing: options.listing ?? false,
    dotfiles,
    allowed: new Set(options.allowDotfiles ?? ['.well-known']),
    fallthrough: options.fallthrough ?? true,
  };
  return (app) => {
    const mount: Mount = { ...config, app };
    return (request, environ) => serveRequest(mount, request, environ);
  };
}

/** One serveStatic instance, resolved from its options. */
interface Mount {
  app: Application;
  root: string;
  shared: Settings;
  index: readonly string[];
  redirect: boolean;
  listing: boolean;
  dotfiles: 'ignore' | 'deny' | 'allow';
  allowed: ReadonlySet<string>;
  fallthrough: boolean;
}

// The request path below is written as top-level functions, not closures: a request makes
// no function objects.

function serveRequest(
  mount: Mount,
  request: Request,
  environ: Environ,
): Response | Promise<Response> {
  const method = request.method;
  if (method !== 'GET' && method !== 'HEAD') {
    return mount.fallthrough
      ? mount.app(request, environ)
      : errorResponse(405, request, undefined, ALLOW);
  }
  const parsed = parseStaticPath(environ.pathInfo);
  if ('error' in parsed) return errorResponse(400, request, parsed.error);
  if ('refused' in parsed) return notServed(mount, request, environ, 404);
  const { segments, trailingSlash } = parsed;
  if (mount.dotfiles !== 'allow' && hasDotfile(segments, mount.allowed)) {
    return mount.dotfiles === 'deny'
      ? errorResponse(403, request)
      : notServed(mount, request, environ, 404);
  }
  const fsPath = segments.length ? mount.root + path.sep + segments.join(path.sep) : mount.root;
  const found = mount.shared.view.lookup(fsPath);
  if (!(found instanceof Promise)) {
    return serveEntry(mount, request, environ, found, fsPath, trailingSlash);
  }
  return found.then((entry) => serveEntry(mount, request, environ, entry, fsPath, trailingSlash));
}

function notServed(
  mount: Mount,
  request: Request,
  environ: Environ,
  status: 403 | 404,
): Response | Promise<Response> {
  return mount.fallthrough ? mount.app(request, environ) : errorResponse(status, request);
}

function serveEntry(
  mount: Mount,
  request: Request,
  environ: Environ,
  entry: Entry,
  fsPath: string,
  trailingSlash: boolean,
): Response | Promise<Response> {
  if (entry.kind === 'file') {
    return trailingSlash
      ? notServed(mount, request, environ, 404)
      : sendFile(request, entry, mount.shared);
  }
  if (entry.kind === 'missing') return notServed(mount, request, environ, 404);
  if (!trailingSlash) {
    return mount.redirect
      ? directoryRedirect(request, environ)
      : notServed(mount, request, environ, 404);
  }
  return serveDirectory(mount, request, environ, fsPath);
}

async function serveDirectory(
  mount: Mount,
  request: Request,
  environ: Environ,
  directory: string,
): Promise<Response> {
  for (const name of mount.index) {
    const candidate = await mount.shared.view.lookup(directory + path.sep + name);
    if (candidate.kind === 'file') return sendFile(request, candidate, mount.shared);
  }
  if (mount.listing) {
    return listDirectory(request, environ, directory, mount.dotfiles, mount.allowed);
  }
  return notServed(mount, request, environ, 404);
}

/**
 * Serves one file for GET and HEAD (paste.fileapp.FileApp): a favicon, a download. Other
 * methods get 405 with `Allow: GET, HEAD`; a missing file, 404. The path is looked up on
 * each request (through the metadata cache), so the file may appear or change later.
 *
 * @throws TypeError at construction for a bad option.
 */
export function fileApp(filePath: string, options: FileAppOptions = {}): Application {
  const absolute = path.resolve(filePath);
  const shared = settings(options, undefined, true);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return errorResponse(405, request, undefined, ALLOW);
    }
    const entry = await shared.view.lookup(absolute);
    if (entry.kind !== 'file') return errorResponse(404, request);
    return sendFile(request, entry, shared);
  };
}

function contentTypeOf(file: string): string {
  return mime.contentType(path.basename(file)) || 'application/octet-stream';
}

function directoryRedirect(request: Request, environ: Environ): Response {
  const url = request.url;
  const query = url.indexOf('?');
  const location = `${environ.scriptName}${environ.pathInfo}/${query === -1 ? '' : url.slice(query)}`;
  return new FastResponse(null, { status: 301, headers: { location } });
}

type FileEntry = Entry & { kind: 'file' };

/**
 * Everything in one file's response that does not depend on the request, built once per
 * looked-up entry (so, in production, once per metadata-cache period).
 */
interface Representation {
  /** The file whose bytes are sent: the original or a precompressed variant. */
  file: FileEntry;
  etag: string | undefined;
  lastModified: number | undefined;
  contentType: string;
  varies: boolean;
  /** Headers of a 304 (RFC 9110 §15.4.5): Cache-Control, ETag, Last-Modified, Vary. */
  validators: [string, string][];
  /** Headers of a 200 or 206, without Content-Length, Content-Range. */
  base: [string, string][];
  /** Headers of the full 200, Content-Length included. */
  full: [string, string][];
}

function representation(
  shared: Settings,
  original: FileEntry,
  file: FileEntry,
  coding: string,
  varies: boolean,
): Representation {
  const known = shared.representations.get(file);
  if (known && known.varies === varies) return known;
  const contentType = shared.contentType ?? contentTypeOf(original.path);
  const disposition = shared.disposition;
  const etag = shared.etag
    ? `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}${coding === 'identity' ? '' : `-${coding}`}"`
    : undefined;
  const lastModified = shared.lastModified ? file.mtimeMs : undefined;
  const validators: [string, string][] = [['cache-control', shared.cacheControl]];
  if (etag) validators.push(['etag', etag]);
  if (lastModified !== undefined) {
    validators.push(['last-modified', new Date(lastModified).toUTCString()]);
  }
  if (varies) validators.push(['vary', 'Accept-Encoding']);
  const base: [string, string][] = [
    ['content-type', contentType],
    ['accept-ranges', 'bytes'],
    ...validators,
  ];
  if (coding !== 'identity') base.push(['content-encoding', coding]);
  if (disposition) base.push(['content-disposition', disposition]);
  const made: Representation = {
    file,
    etag,
    lastModified,
    contentType,
    varies,
    validators,
    base,
    full: [...base, ['content-length', String(file.size)]],
  };
  shared.representations.set(file, made);
  return made;
}

/**
 * The response for one file: variant selection, validators, preconditions, ranges, body.
 * Retries when the file is seen to change between its lookup and its opening, so the
 * headers always describe the bytes sent.
 */
function sendFile(
  request: Request,
  entry: FileEntry,
  shared: Settings,
): Response | Promise<Response> {
  const first = respond(request, entry, shared);
  if (first !== undefined && !(first instanceof Promise)) return first;
  return sendFileAgain(request, entry, shared, first);
}

/** The slow path of {@link sendFile}: wait for the response; look up and retry on change. */
async function sendFileAgain(
  request: Request,
  entry: FileEntry,
  shared: Settings,
  first: Promise<Response | undefined> | undefined,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = attempt === 0 ? await first : await respond(request, entry, shared);
    if (response !== undefined) return response;
    shared.view.forget(entry.path);
    const fresh = await shared.view.lookup(entry.path);
    if (fresh.kind !== 'file' || attempt === 3) return errorResponse(404, request);
    entry = fresh;
  }
}

async function selectVariant(
  request: Request,
  entry: FileEntry,
  shared: Settings,
): Promise<{ file: FileEntry; coding: string; varies: boolean }> {
  const variants = new Map<string, FileEntry>();
  for (const name of shared.precompressed) {
    const variant = await shared.view.lookup(entry.path + EXTENSIONS[name]);
    if (variant.kind === 'file') variants.set(name, variant);
  }
  const coding = negotiateEncoding(requestHeader(request, 'accept-encoding'), [...variants.keys()]);
  return { file: variants.get(coding) ?? entry, coding, varies: variants.size > 0 };
}

function respond(
  request: Request,
  entry: FileEntry,
  shared: Settings,
): Response | undefined | Promise<Response | undefined> {
  if (shared.precompressed.length === 0) {
    return respondWith(request, representation(shared, entry, entry, 'identity', false), shared);
  }
  return selectVariant(request, entry, shared).then(({ file, coding, varies }) =>
    respondWith(request, representation(shared, entry, file, coding, varies), shared),
  );
}

function respondWith(
  request: Request,
  rep: Representation,
  shared: Settings,
): Response | undefined | Promise<Response | undefined> {
  const method = request.method;
  const { file, etag, lastModified } = rep;
  const conditional: ConditionalHeaders = {
    ifMatch: requestHeader(request, 'if-match'),
    ifNoneMatch: requestHeader(request, 'if-none-match'),
    ifModifiedSince: requestHeader(request, 'if-modified-since'),
    ifUnmodifiedSince: requestHeader(request, 'if-unmodified-since'),
    cacheControl: requestHeader(request, 'cache-control'),
  };
  const precondition = evaluatePreconditions(method, conditional, rep);
  if (precondition === 412) return errorResponse(412, request);
  if (precondition === 304) return new FastResponse(null, { status: 304, headers: rep.validators });

  const size = file.size;
  // Range handling is defined for GET only (RFC 9110 §14.2).
  const rangeHeader = method === 'GET' ? requestHeader(request, 'range') : null;
  const ranges =
    rangeHeader !== null &&
    ifRangeMatches(requestHeader(request, 'if-range'), { etag, lastModified })
      ? parseRange(rangeHeader, size, shared.maxRanges)
      : undefined;
  if (ranges === 'unsatisfiable') {
    return errorResponse(416, request, undefined, { 'content-range': `bytes */${size}` });
  }
  if (ranges === undefined) {
    const init = { status: 200, headers: finalHeaders(shared, rep, undefined) };
    if (method === 'HEAD') return new FastResponse(null, init);
    return body(file, shared, 0, size - 1, init);
  }
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    const headers = finalHeaders(shared, rep, [
      ['content-range', `bytes ${start}-${end}/${size}`],
      ['content-length', String(end - start + 1)],
    ]);
    return body(file, shared, start, end, { status: 206, headers });
  }
  return multipartBody(file, shared, rep, ranges);
}

/**
 * The headers of a 200 (`extra` undefined: the precomputed full set) or a 206 (`extra` with
 * Content-Range/Length/Type, replacing those of the same name), through `setHeaders`.
 */
function finalHeaders(
  shared: Settings,
  rep: Representation,
  extra: [string, string][] | undefined,
): HeadersInit {
  let headers = rep.full;
  if (extra) {
    const names = new Set(extra.map(([name]) => name));
    headers = [...rep.base.filter(([name]) => !names.has(name)), ...extra];
  }
  if (!shared.setHeaders) return headers;
  const mutable = new Headers(headers);
  shared.setHeaders(mutable, {
    path: rep.file.path,
    size: rep.file.size,
    mtimeMs: rep.file.mtimeMs,
  });
  return mutable;
}

async function multipartBody(
  file: FileEntry,
  shared: Settings,
  rep: Representation,
  ranges: ByteRange[],
): Promise<Response | undefined> {
  const size = file.size;
  const framing = multipartByteranges(
    ranges,
    size,
    rep.contentType,
    `mortar-${crypto.randomUUID()}`,
  );
  const init = {
    status: 206,
    headers: finalHeaders(shared, rep, [
      ['content-type', framing.contentType],
      ['content-length', String(framing.length)],
    ]),
  };
  if (shared.view.cacheable(size)) {
    const bytes = await shared.view.content(file);
    if (bytes === undefined) return undefined;
    const parts: Buffer[] = [];
    for (const [index, range] of ranges.entries()) {
      parts.push(framing.heads[index]!, bytes.subarray(range.start, range.end + 1));
    }
    parts.push(framing.tail);
    return new FastResponse(Buffer.concat(parts) as Uint8Array<ArrayBuffer>, init);
  }
  const handle = await shared.view.openFor(file);
  if (handle === undefined) return undefined;
  return new FastResponse(multipartStream(handle, ranges, framing) as unknown as BodyInit, init);
}

/** The body for bytes start…end of `file`: from memory when small, else streamed. */
function body(
  file: FileEntry,
  shared: Settings,
  start: number,
  end: number,
  init: ResponseInit,
): Response | undefined | Promise<Response | undefined> {
  if (end < start) return new FastResponse(null, init); // an empty file
  if (!shared.view.cacheable(file.size)) return streamedBody(file, start, end, init);
  const cached = shared.view.cachedContent(file);
  if (cached) return fromMemory(cached, start, end, init);
  return shared.view
    .content(file)
    .then((bytes) => (bytes === undefined ? undefined : fromMemory(bytes, start, end, init)));
}

function fromMemory(bytes: Buffer, start: number, end: number, init: ResponseInit): Response {
  const slice =
    start === 0 && end === bytes.byteLength - 1 ? bytes : bytes.subarray(start, end + 1);
  return new FastResponse(slice as Uint8Array<ArrayBuffer>, init);
}

function streamedBody(file: FileEntry, start: number, end: number, init: ResponseInit): Response {
  return new FastResponse(fileStream(file.path, start, end) as unknown as BodyInit, init);
}

async function listDirectory(
  request: Request,
  environ: Environ,
  directory: string,
  dotfiles: 'ignore' | 'deny' | 'allow',
  allowed: ReadonlySet<string>,
): Promise<Response> {
  const entries = (await readdir(directory, { withFileTypes: true }))
    .filter((e) => dotfiles === 'allow' || !hasDotfile([e.name], allowed))
    .sort(
      (a, b) => Number(b.isDirectory()) - Number(a.isDirectory()) || a.name.localeCompare(b.name),
    );
  const here = `${environ.scriptName}${environ.pathInfo}`;
  const items = entries.map((e) => {
    const name = e.name + (e.isDirectory() ? '/' : '');
    return `<li><a href="${escapeHTML(encodeURIComponent(e.name) + (e.isDirectory() ? '/' : ''))}">${escapeHTML(name)}</a></li>`;
  });
  if (environ.pathInfo !== '/' && environ.pathInfo !== '')
    items.unshift('<li><a href="../">../</a></li>');
  let title: string;
  try {
    title = decodeURIComponent(here);
  } catch {
    title = here;
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Index of ${escapeHTML(title)}</title>
<style>body{font:15px/1.6 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}
ul{list-style:none;padding:0}a{text-decoration:none}a:hover{text-decoration:underline}</style></head>
<body><h1>Index of ${escapeHTML(title)}</h1>
<ul>
${items.join('\n')}
</ul></body></html>
`;
  return new FastResponse(request.method === 'HEAD' ? null : html, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    },
  });
}
