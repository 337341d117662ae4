/**
 * `mortar/static` — static files: `serveStatic(root)` for a folder (Werkzeug's
 * SharedDataMiddleware, serve-static), `fileApp(path)` for one file (paste.fileapp.FileApp).
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { fileApp, serveStatic } from 'mortar/static';
 *
 * const app = compose(serveStatic('public', { maxAge: 3600, precompressed: ['br', 'gzip'] }))(site);
 * const favicon = fileApp('public/favicon.ico', { maxAge: 86_400 });
 * ```
 *
 * `serveStatic` answers GET and HEAD for files under `root`, found from `environ.pathInfo`
 * (so it works under a mount), and passes every other request to the application it wraps.
 * It follows RFC 9110 to the letter where send and sirv do not: conditional requests in §13's
 * order of evaluation (strong comparison for If-Match and If-Range, weak for If-None-Match),
 * suffix and multiple ranges (coalesced, multipart/byteranges), 416 with
 * `Content-Range: bytes *​/size`, precompressed variants chosen by q-value with
 * `Vary: Accept-Encoding` and a distinct ETag each. Symlinks are followed only while their
 * target stays under the root (realpath containment), and a directory without its trailing
 * slash gets a 301 built from `scriptName + pathInfo`, the URL the client used.
 * @module mortar/static
 */

import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, is, optionChecker, shown } from '../../src/_internal/options.js';
import { errorResponse } from '../../src/http-error.js';
import type { Application, Middleware } from '../../src/types.js';
import type { SymlinkPolicy } from './files.js';
import { type Folder, serveRequest } from './folder.js';
import { sendFile } from './respond.js';
import {
  checkCacheOptions,
  FILE_OPTION_CHECKS,
  type FileOptions,
  fileSettings,
} from './settings.js';

export {
  type ConditionalHeaders,
  evaluatePreconditions,
  ifRangeMatches,
  parseHTTPDate,
  type Validators,
} from '../_shared/conditional.js';
export { multipartByteranges, parseRange } from '../_shared/range.js';
export { parseStaticPath } from './path.js';
export type { FileOptions, StaticFileInfo } from './settings.js';

/** Options of {@link serveStatic}. */
export interface StaticOptions extends FileOptions {
  /**
   * Files tried for a directory request ending in `/`: a name, a list tried in order, or
   * `false` for none. @default ['index.html']
   */
  index?: string | readonly string[] | false;
  /**
   * Extensions tried, in order, for a path that names no file (clean URLs: `/about` serves
   * `about.html` with `['html']`). Without the dot. @default []
   */
  extensions?: readonly string[];
  /**
   * A single-page application's entry file, served (200) for a GET or HEAD that no file
   * answers and the wrapped application answers 404 to (sirv's `single`) — unless the path
   * matches one of `ignore`, by default any path whose last segment has an extension
   * (`/app.js` stays a 404). A path relative to the root, or `{ file, ignore }`.
   * @default undefined
   */
  fallback?: string | { file: string; ignore?: readonly RegExp[] };
  /**
   * A directory request without its trailing slash gets a 301 to `scriptName + pathInfo + '/'`,
   * query kept. @default true
   */
  redirect?: boolean;
  /** Render an HTML listing of a directory without an index file. @default false */
  listing?: boolean;
  /**
   * Paths with a segment starting with `.`: `'ignore'` (as if absent), `'deny'` (403) or
   * `'allow'`. @default 'ignore'
   */
  dotfiles?: 'ignore' | 'deny' | 'allow';
  /** Dot-named segments served whatever `dotfiles` says. @default ['.well-known'] */
  allowDotfiles?: readonly string[];
  /**
   * Symlinks: `'inside'` (only links whose target stays under the root), `true` (any), or
   * `false` (none). @default 'inside'
   */
  followSymlinks?: SymlinkPolicy;
  /** Pass requests not served to the wrapped application; `false` answers 404/405 itself. @default true */
  fallthrough?: boolean;
}

/** Options of {@link fileApp}. */
export interface FileAppOptions extends FileOptions {
  /** Content-Type. @default from the file name (mime-types), else application/octet-stream */
  contentType?: string;
  /** Send as a download: `Content-Disposition: attachment` with this file name (RFC 6266). @default undefined */
  download?: string;
}

const checkFileAppOptions = optionChecker<FileAppOptions>('fileApp', {
  ...FILE_OPTION_CHECKS,
  contentType: is.string,
  download: is.string,
});
const checkStaticOptions = optionChecker<StaticOptions>('serveStatic', {
  ...FILE_OPTION_CHECKS,
  index: is.either(is.string, is.strings, is.oneOf(false)),
  extensions: is.strings,
  fallback: is.either(is.string, is.object),
  redirect: is.boolean,
  listing: is.boolean,
  dotfiles: is.oneOf('ignore', 'deny', 'allow'),
  allowDotfiles: is.strings,
  followSymlinks: is.either(is.boolean, is.oneOf('inside')),
  fallthrough: is.boolean,
});

/**
 * Serves the files under `root` and passes every request it does not serve to the wrapped
 * application.
 *
 * ```ts
 * serveStatic('public', {
 *   maxAge: 0, immutable: false,        // Cache-Control: public, max-age (seconds), immutable
 *   cacheControl: true,                 // false sends no Cache-Control
 *   etag: true, lastModified: true,     // validators (RFC 9110 §8.8)
 *   acceptRanges: true, maxRanges: 16,  // ranges (RFC 9110 §14)
 *   precompressed: [],                  // ['br', 'gzip', 'zstd']: app.js.br … by q-value
 *   index: ['index.html'], extensions: [], fallback: undefined,  // 'index.html' for a SPA
 *   redirect: true,                     // /folder → /folder/ (301, inside the mount)
 *   listing: false,                     // a folder listing when there is no index
 *   dotfiles: 'ignore', allowDotfiles: ['.well-known'],
 *   followSymlinks: 'inside',           // a symlink only when it stays under root
 *   fallthrough: true,                  // a miss goes to the wrapped application
 *   setHeaders: undefined,              // (headers, file) => …, before the response is built
 *   cache: false,                       // metadata cache; { ttl: 5, … } under production
 *   contentCache: { maxFileSize: 65_536, maxSize: 33_554_432 },
 * })
 * ```
 *
 * @param root - A folder; relative paths resolve from the current directory.
 * @throws ConfigError (a TypeError) at construction when `root` does not exist or is not a
 *   folder, or for a bad option (each message names it).
 */
export function serveStatic(root: string, options: StaticOptions = {}): Middleware {
  checkStaticOptions(options);
  checkCacheOptions('serveStatic', options);
  let realRoot: string;
  try {
    realRoot = realpathSync(path.resolve(root));
  } catch {
    throw new ConfigError(`serveStatic: root ${JSON.stringify(root)} does not exist`);
  }
  if (!statSync(realRoot).isDirectory()) {
    throw new ConfigError(`serveStatic: root ${JSON.stringify(root)} is not a folder`);
  }
  const dotfiles = options.dotfiles ?? 'ignore';
  const config: Omit<Folder, 'app'> = {
    root: realRoot,
    settings: fileSettings(options, realRoot, options.followSymlinks ?? 'inside'),
    index: names(options.index ?? ['index.html'], 'index'),
    extensions: names(options.extensions ?? [], 'extensions').map((extension) => `.${extension}`),
    fallback: fallbackOf(options.fallback),
    redirect: options.redirect ?? true,
    listing: options.listing ?? false,
    dotfiles,
    allowed: new Set(names(options.allowDotfiles ?? ['.well-known'], 'allowDotfiles')),
    fallthrough: options.fallthrough ?? true,
  };
  return function serveStatic(app) {
    const folder: Folder = { ...config, app };
    return function serveStaticApp(request, environ) {
      return serveRequest(folder, request, environ);
    };
  };
}

/**
 * Serves one file for GET and HEAD (paste.fileapp.FileApp): a favicon, a download. Other
 * methods get 405 with `Allow: GET, HEAD`; a missing file, 404. The path is looked up on
 * each request (through the metadata cache), so the file may appear or change later.
 *
 * @throws ConfigError (a TypeError) at construction for a bad option.
 */
export function fileApp(filePath: string, options: FileAppOptions = {}): Application {
  checkFileAppOptions(options);
  checkCacheOptions('fileApp', options);
  const absolute = path.resolve(filePath);
  const settings = fileSettings(options, undefined, true);
  return async function serveFile(request) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return errorResponse(405, request, undefined, { allow: 'GET, HEAD' });
    }
    const entry = await settings.view.lookup(absolute);
    if (entry.kind !== 'file') return errorResponse(404, request);
    return sendFile(request, entry, settings);
  };
}

/** `false` → none; a string → one; an array of strings → itself. @throws ConfigError otherwise. */
function names(value: unknown, option: string): string[] {
  if (value === false) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== '')) {
    return [...value];
  }
  throw new ConfigError(
    `serveStatic: option "${option}" must be a file name, a list of names or false, got ${shown(value)}`,
  );
}

/** The SPA fallback option, resolved. @throws ConfigError for a malformed one. */
function fallbackOf(value: StaticOptions['fallback']): Folder['fallback'] {
  if (value === undefined) return undefined;
  const { file, ignore = [/\.[^/.]+$/] } = typeof value === 'string' ? { file: value } : value;
  const segments = typeof file === 'string' ? file.split('/').filter(Boolean) : [];
  if (segments.length === 0 || segments.some((s) => s === '.' || s === '..')) {
    throw new ConfigError(
      `serveStatic: option "fallback" must name a file under the root, got ${shown(file)}`,
    );
  }
  if (!Array.isArray(ignore) || !ignore.every((pattern) => pattern instanceof RegExp)) {
    throw new ConfigError('serveStatic: option "fallback.ignore" must be a list of RegExps');
  }
  return { segments, ignore };
}
