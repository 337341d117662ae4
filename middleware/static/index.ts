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
import { FastResponse } from '../../src/response.js';
import type { Application, Environ, Middleware } from '../../src/types.js';
import { type ConditionalHeaders, evaluatePreconditions, ifRangeMatches } from './conditional.js';
import { negotiateEncoding } from './encoding.js';
import { type Entry, FileView, fileStream, multipartStream, type SymlinkPolicy } from './files.js';
import { hasDotfile, parseStaticPath } from './path.js';
import { multipartByteranges, parseRange } from './range.js';

export {
  type ConditionalHeaders,
  evaluatePreconditions,
  ifRangeMatches,
  parseHTTPDate,
  type Validators,
} from './conditional.js';
export { negotiateEncoding } from './encoding.js';
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
  cacheControl: string;
  etag: boolean;
  lastModified: boolean;
  precompressed: readonly string[];
  maxRanges: number;
  setHeaders: FileOptions['setHeaders'];
}

function settings(
  options: FileOptions,
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
  const shared = settings(options, realRoot, options.followSymlinks ?? 'inside');
  const index = options.index === false ? [] : (options.index ?? ['index.html']);
  const redirect = options.redirect ?? true;
  const listing = options.listing ?? false;
  const dotfiles = options.dotfiles ?? 'ignore';
  if (!['ignore', 'deny', 'allow'].includes(dotfiles)) {
    throw new TypeError(
      `serveStatic: options.dotfiles must be ignore, deny or allow, got ${dotfiles}`,
    );
  }
  const allowed = new Set(options.allowDotfiles ?? ['.well-known']);
  const fallthrough = options.fallthrough ?? true;

  return (app) => async (request, environ) => {
    const notServed = (status: 404 | 403): Response | Promise<Response> =>
      fallthrough ? app(request, environ) : errorResponse(status, request);
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return fallthrough ? app(request, environ) : errorResponse(405, request, undefined, ALLOW);
    }
    const parsed = parseStaticPath(environ.pathInfo);
    if ('error' in parsed) return errorResponse(400, request, parsed.error);
    if ('refused' in parsed) return notServed(404);
    const { segments, trailingSlash } = parsed;
    if (dotfiles !== 'allow' && hasDotfile(segments, allowed)) {
      return dotfiles === 'deny' ? errorResponse(403, request) : notServed(404);
    }
    const fsPath = segments.length ? realRoot + path.sep + segments.join(path.sep) : realRoot;
    const entry = await shared.view.lookup(fsPath);
    if (entry.kind === 'file') {
      return trailingSlash
        ? notServed(404)
        : sendFile(request, entry, shared, contentTypeOf(fsPath));
    }
    if (entry.kind === 'missing') return notServed(404);
    if (!trailingSlash) {
      if (!redirect) return notServed(404);
      return directoryRedirect(request, environ);
    }
    for (const name of index) {
      const candidate = await shared.view.lookup(fsPath + path.sep + name);
      if (candidate.kind === 'file') {
        return sendFile(request, candidate, shared, contentTypeOf(candidate.path));
      }
    }
    if (listing) return listDirectory(request, environ, fsPath, dotfiles, allowed);
    return notServed(404);
  };
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
  const contentType = options.contentType ?? contentTypeOf(absolute);
  const disposition =
    options.download === undefined ? undefined : contentDisposition(options.download);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return errorResponse(405, request, undefined, ALLOW);
    }
    const entry = await shared.view.lookup(absolute);
    if (entry.kind !== 'file') return errorResponse(404, request);
    return sendFile(request, entry, shared, contentType, disposition);
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
 * The response for one file: variant selection, validators, preconditions, ranges, body.
 * Retries when the file is seen to change between its lookup and its opening, so the
 * headers always describe the bytes sent.
 */
async function sendFile(
  request: Request,
  entry: FileEntry,
  shared: Settings,
  contentType: string,
  disposition?: string,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await trySendFile(request, entry, shared, contentType, disposition);
    if (response !== undefined) return response;
    shared.view.forget(entry.path);
    const fresh = await shared.view.lookup(entry.path);
    if (fresh.kind !== 'file' || attempt === 3) return errorResponse(404, request);
    entry = fresh;
  }
}

async function trySendFile(
  request: Request,
  entry: FileEntry,
  shared: Settings,
  contentType: string,
  disposition: string | undefined,
): Promise<Response | undefined> {
  const requestHeaders = request.headers;
  let file = entry;
  let coding = 'identity';
  let varies = false;
  if (shared.precompressed.length) {
    const variants = new Map<string, FileEntry>();
    for (const name of shared.precompressed) {
      const variant = await shared.view.lookup(entry.path + EXTENSIONS[name]);
      if (variant.kind === 'file') variants.set(name, variant);
    }
    varies = variants.size > 0;
    coding = negotiateEncoding(requestHeaders.get('accept-encoding'), [...variants.keys()]);
    file = variants.get(coding) ?? entry;
  }

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

  const method = request.method;
  const conditional: ConditionalHeaders = {
    ifMatch: requestHeaders.get('if-match'),
    ifNoneMatch: requestHeaders.get('if-none-match'),
    ifModifiedSince: requestHeaders.get('if-modified-since'),
    ifUnmodifiedSince: requestHeaders.get('if-unmodified-since'),
    cacheControl: requestHeaders.get('cache-control'),
  };
  const precondition = evaluatePreconditions(method, conditional, { etag, lastModified });
  if (precondition === 412) return errorResponse(412, request);
  if (precondition === 304) return new FastResponse(null, { status: 304, headers: validators });

  const headers: [string, string][] = [
    ['content-type', contentType],
    ['accept-ranges', 'bytes'],
    ...validators,
  ];
  if (coding !== 'identity') headers.push(['content-encoding', coding]);
  if (disposition) headers.push(['content-disposition', disposition]);
  let responseHeaders: HeadersInit = headers;
  if (shared.setHeaders) {
    const mutable = new Headers(headers);
    shared.setHeaders(mutable, { path: file.path, size: file.size, mtimeMs: file.mtimeMs });
    responseHeaders = mutable;
  }
  const size = file.size;

  // Range handling is defined for GET only (RFC 9110 §14.2).
  const rangeHeader = method === 'GET' ? requestHeaders.get('range') : null;
  const ranges =
    rangeHeader !== null && ifRangeMatches(requestHeaders.get('if-range'), { etag, lastModified })
      ? parseRange(rangeHeader, size, shared.maxRanges)
      : undefined;
  if (ranges === 'unsatisfiable') {
    return errorResponse(416, request, undefined, { 'content-range': `bytes */${size}` });
  }

  /** The response headers with `extra` set (replacing a header of the same name). */
  const withHeaders = (extra: [string, string][]): HeadersInit => {
    if (responseHeaders instanceof Headers) {
      const out = new Headers(responseHeaders);
      for (const [name, value] of extra) out.set(name, value);
      return out;
    }
    const names = new Set(extra.map(([name]) => name));
    return [...headers.filter(([name]) => !names.has(name)), ...extra];
  };

  if (ranges === undefined) {
    const init = { status: 200, headers: withHeaders([['content-length', String(size)]]) };
    if (method === 'HEAD') return new FastResponse(null, init);
    return body(file, shared, 0, size - 1, init);
  }
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    const init = {
      status: 206,
      headers: withHeaders([
        ['content-range', `bytes ${start}-${end}/${size}`],
        ['content-length', String(end - start + 1)],
      ]),
    };
    return body(file, shared, start, end, init);
  }
  const boundary = `mortar-${crypto.randomUUID()}`;
  const framing = multipartByteranges(ranges, size, contentType, boundary);
  const init = {
    status: 206,
    headers: withHeaders([
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
    return new FastResponse(Buffer.concat(parts), init);
  }
  const handle = await shared.view.openFor(file);
  if (handle === undefined) return undefined;
  return new FastResponse(multipartStream(handle, ranges, framing) as unknown as BodyInit, init);
}

/** The body for bytes start…end of `file`: from memory when small, else streamed. */
async function body(
  file: FileEntry,
  shared: Settings,
  start: number,
  end: number,
  init: ResponseInit,
): Promise<Response | undefined> {
  if (end < start) return new FastResponse(null, init); // an empty file
  if (shared.view.cacheable(file.size)) {
    const bytes = await shared.view.content(file);
    if (bytes === undefined) return undefined;
    const slice =
      start === 0 && end === bytes.byteLength - 1 ? bytes : bytes.subarray(start, end + 1);
    return new FastResponse(slice as Uint8Array<ArrayBuffer>, init);
  }
  const handle = await shared.view.openFor(file);
  if (handle === undefined) return undefined;
  return new FastResponse(fileStream(handle, start, end) as unknown as BodyInit, init);
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
