/**
 * serveStatic's request path: from `environ.pathInfo` to a file, a directory's index, a
 * redirect, a listing, or the wrapped application. Written as top-level functions, not
 * closures, so a request makes no function objects.
 */
import path from 'node:path';
import { assertEnviron } from '../../src/environ.js';
import { errorResponse } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import type { Application, Environ } from '../../src/types.js';
import type { Entry } from './files.js';
import { listDirectory } from './listing.js';
import { hasDotfile, parseStaticPath } from './path.js';
import { sendFile } from './respond.js';
import type { FileSettings } from './settings.js';

const ALLOW = { allow: 'GET, HEAD' };

/** One serveStatic instance: its options, resolved, and the application it wraps. */
export interface Folder {
  app: Application;
  root: string;
  settings: FileSettings;
  index: readonly string[];
  /** Tried after a miss, with their dot: `['.html']`. */
  extensions: readonly string[];
  /** The SPA entry file below the root, and the paths that never fall back to it. */
  fallback: { segments: readonly string[]; ignore: readonly RegExp[] } | undefined;
  redirect: boolean;
  listing: boolean;
  dotfiles: 'ignore' | 'deny' | 'allow';
  allowed: ReadonlySet<string>;
  fallthrough: boolean;
}

export function serveRequest(
  folder: Folder,
  request: Request,
  environ: Environ,
): Response | Promise<Response> {
  assertEnviron(environ, 'serveStatic()');
  const method = request.method;
  if (method !== 'GET' && method !== 'HEAD') {
    return folder.fallthrough
      ? folder.app(request, environ)
      : errorResponse(405, request, undefined, ALLOW);
  }
  const parsed = parseStaticPath(environ.pathInfo);
  if ('error' in parsed) return errorResponse(400, request, parsed.error);
  if ('refused' in parsed) return notServed(folder, request, environ, 404);
  const { segments, trailingSlash } = parsed;
  if (folder.dotfiles !== 'allow' && hasDotfile(segments, folder.allowed)) {
    return folder.dotfiles === 'deny'
      ? errorResponse(403, request)
      : notServed(folder, request, environ, 404);
  }
  const fsPath = segments.length ? folder.root + path.sep + segments.join(path.sep) : folder.root;
  const found = folder.settings.view.lookup(fsPath);
  if (!(found instanceof Promise)) {
    return serveEntry(folder, request, environ, found, fsPath, trailingSlash);
  }
  return found.then((entry) => serveEntry(folder, request, environ, entry, fsPath, trailingSlash));
}

function notServed(
  folder: Folder,
  request: Request,
  environ: Environ,
  status: 403 | 404,
): Response | Promise<Response> {
  return folder.fallthrough ? folder.app(request, environ) : errorResponse(status, request);
}

function serveEntry(
  folder: Folder,
  request: Request,
  environ: Environ,
  entry: Entry,
  fsPath: string,
  trailingSlash: boolean,
): Response | Promise<Response> {
  if (entry.kind === 'file') {
    return trailingSlash
      ? notServed(folder, request, environ, 404)
      : sendFile(request, entry, folder.settings);
  }
  if (entry.kind === 'missing') {
    if (folder.extensions.length > 0 && !trailingSlash) {
      return tryExtensions(folder, request, environ, fsPath);
    }
    return missing(folder, request, environ);
  }
  if (!trailingSlash) {
    return folder.redirect
      ? directoryRedirect(request, environ)
      : notServed(folder, request, environ, 404);
  }
  return serveDirectory(folder, request, environ, fsPath);
}

async function serveDirectory(
  folder: Folder,
  request: Request,
  environ: Environ,
  directory: string,
): Promise<Response> {
  for (const name of folder.index) {
    const candidate = await folder.settings.view.lookup(directory + path.sep + name);
    if (candidate.kind === 'file') return sendFile(request, candidate, folder.settings);
  }
  if (folder.listing) {
    return listDirectory(
      request,
      environ,
      directory,
      folder.settings.view,
      folder.dotfiles,
      folder.allowed,
    );
  }
  return missing(folder, request, environ);
}

/** Clean URLs: `/about` → `about.html` (the first extension that names a file). */
async function tryExtensions(
  folder: Folder,
  request: Request,
  environ: Environ,
  fsPath: string,
): Promise<Response> {
  for (const extension of folder.extensions) {
    const candidate = await folder.settings.view.lookup(fsPath + extension);
    if (candidate.kind === 'file') return sendFile(request, candidate, folder.settings);
  }
  return missing(folder, request, environ);
}

/**
 * Nothing under the root answers: the wrapped application (or a 404), and then — for a SPA —
 * the fallback file instead of a 404, unless the path is one its `ignore` list keeps.
 */
async function missing(folder: Folder, request: Request, environ: Environ): Promise<Response> {
  const { fallback } = folder;
  if (!fallback || fallback.ignore.some((pattern) => pattern.test(environ.pathInfo))) {
    return notServed(folder, request, environ, 404);
  }
  if (folder.fallthrough) {
    const response = await folder.app(request, environ);
    if (response.status !== 404) return response;
    await response.body?.cancel().catch(() => {});
  }
  const entry = await folder.settings.view.lookup(
    folder.root + path.sep + fallback.segments.join(path.sep),
  );
  if (entry.kind !== 'file') return errorResponse(404, request);
  return sendFile(request, entry, folder.settings);
}

function directoryRedirect(request: Request, environ: Environ): Response {
  const url = request.url;
  const query = url.indexOf('?');
  const location = `${environ.scriptName}${environ.pathInfo}/${query === -1 ? '' : url.slice(query)}`;
  return new FastResponse(null, { status: 301, headers: { location } });
}
