/**
 * One file's response: the precompressed variant by q-value, validators, RFC 9110
 * preconditions (§13) and ranges (§14), and the body — from memory for small files, streamed
 * otherwise. The HTTP rules themselves are the pure functions of conditional.ts and range.ts.
 */
import path from 'node:path';
import mime from 'mime-types';
import { errorResponse } from '../../src/http-error.js';
import { negotiateEncoding } from '../../src/negotiation.js';
import { requestHeader } from '../../src/request-header.js';
import { FastResponse } from '../../src/response.js';
import {
  type ConditionalHeaders,
  evaluatePreconditions,
  ifRangeMatches,
} from '../_shared/conditional.js';
import {
  type ByteRange,
  multipartByteranges,
  multipartBytes,
  parseRange,
} from '../_shared/range.js';
import { type Entry, fileStream, multipartStream } from './files.js';
import { EXTENSIONS, type FileSettings } from './settings.js';

function contentTypeOf(file: string): string {
  return mime.contentType(path.basename(file)) || 'application/octet-stream';
}

/** A looked-up entry that is a file. */
export type FileEntry = Entry & { kind: 'file' };

/**
 * Everything in one file's response that does not depend on the request, built once per
 * looked-up entry (so, in production, once per metadata-cache period).
 */
export interface Representation {
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

/**
 * Per looked-up file entry, what its responses share. Keyed by the entry alone: an entry comes
 * from the FileView of one FileSettings (each `serveStatic()` / `fileApp()` makes its own), so
 * it never meets another settings' headers.
 */
const representations = new WeakMap<FileEntry, Representation>();

function representation(
  settings: FileSettings,
  original: FileEntry,
  file: FileEntry,
  coding: string,
  varies: boolean,
): Representation {
  const known = representations.get(file);
  if (known && known.varies === varies) return known;
  const contentType = settings.contentType ?? contentTypeOf(original.path);
  const disposition = settings.disposition;
  const etag = settings.etag
    ? `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}${coding === 'identity' ? '' : `-${coding}`}"`
    : undefined;
  const lastModified = settings.lastModified ? file.mtimeMs : undefined;
  const validators: [string, string][] = [];
  if (settings.cacheControl) validators.push(['cache-control', settings.cacheControl]);
  if (etag) validators.push(['etag', etag]);
  if (lastModified !== undefined) {
    validators.push(['last-modified', new Date(lastModified).toUTCString()]);
  }
  if (varies) validators.push(['vary', 'Accept-Encoding']);
  const base: [string, string][] = [['content-type', contentType]];
  if (settings.acceptRanges) base.push(['accept-ranges', 'bytes']);
  base.push(...validators);
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
  representations.set(file, made);
  return made;
}

/**
 * The response for one file: variant selection, validators, preconditions, ranges, body.
 * Retries when the file is seen to change between its lookup and its opening, so the
 * headers always describe the bytes sent.
 */
export function sendFile(
  request: Request,
  entry: FileEntry,
  settings: FileSettings,
): Response | Promise<Response> {
  const first = respond(request, entry, settings);
  if (first !== undefined && !(first instanceof Promise)) return first;
  return sendFileAgain(request, entry, settings, first);
}

/** The slow path of {@link sendFile}: wait for the response; look up and retry on change. */
async function sendFileAgain(
  request: Request,
  entry: FileEntry,
  settings: FileSettings,
  first: Promise<Response | undefined> | undefined,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = attempt === 0 ? await first : await respond(request, entry, settings);
    if (response !== undefined) return response;
    settings.view.forget(entry.path);
    const fresh = await settings.view.lookup(entry.path);
    if (fresh.kind !== 'file' || attempt === 3) return errorResponse(404, request);
    entry = fresh;
  }
}

async function selectVariant(
  request: Request,
  entry: FileEntry,
  settings: FileSettings,
): Promise<{ file: FileEntry; coding: string; varies: boolean }> {
  const variants = new Map<string, FileEntry>();
  for (const name of settings.precompressed) {
    const variant = await settings.view.lookup(entry.path + EXTENSIONS[name]);
    if (variant.kind === 'file') variants.set(name, variant);
  }
  const coding = negotiateEncoding(requestHeader(request, 'accept-encoding'), [...variants.keys()]);
  return { file: variants.get(coding) ?? entry, coding, varies: variants.size > 0 };
}

function respond(
  request: Request,
  entry: FileEntry,
  settings: FileSettings,
): Response | undefined | Promise<Response | undefined> {
  if (settings.precompressed.length === 0) {
    return respondWith(
      request,
      representation(settings, entry, entry, 'identity', false),
      settings,
    );
  }
  return selectVariant(request, entry, settings).then(({ file, coding, varies }) =>
    respondWith(request, representation(settings, entry, file, coding, varies), settings),
  );
}

function respondWith(
  request: Request,
  representation: Representation,
  settings: FileSettings,
): Response | undefined | Promise<Response | undefined> {
  const rep = withSetHeaders(settings, representation);
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
  const rangeHeader =
    method === 'GET' && settings.acceptRanges ? requestHeader(request, 'range') : null;
  const ranges =
    rangeHeader !== null &&
    ifRangeMatches(requestHeader(request, 'if-range'), { etag, lastModified })
      ? parseRange(rangeHeader, size, settings.maxRanges)
      : undefined;
  if (ranges === 'unsatisfiable') {
    return errorResponse(416, request, undefined, { 'content-range': `bytes */${size}` });
  }
  if (ranges === undefined) {
    const init = { status: 200, headers: finalHeaders(rep, undefined) };
    if (method === 'HEAD') return new FastResponse(null, init);
    return body(file, settings, 0, size - 1, init);
  }
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    const headers = finalHeaders(rep, [
      ['content-range', `bytes ${start}-${end}/${size}`],
      ['content-length', String(end - start + 1)],
    ]);
    return body(file, settings, start, end, { status: 206, headers });
  }
  return multipartBody(file, settings, rep, ranges);
}

/** The headers a 304 repeats (RFC 9110 §15.4.5). */
const NOT_MODIFIED_HEADERS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'last-modified',
  'vary',
]);

/**
 * The representation as this request sends it: `setHeaders` runs on the full header set, and
 * what it leaves in ETag and Last-Modified is what preconditions and If-Range compare against
 * (as send does) — so a user's strong ETag works, and a 304 carries the tag that was sent.
 */
function withSetHeaders(settings: FileSettings, rep: Representation): Representation {
  if (!settings.setHeaders) return rep;
  const headers = new Headers(rep.full);
  settings.setHeaders(headers, {
    path: rep.file.path,
    size: rep.file.size,
    mtimeMs: rep.file.mtimeMs,
  });
  const full = [...headers];
  const modified = headers.get('last-modified');
  const parsed = modified === null ? Number.NaN : Date.parse(modified);
  return {
    ...rep,
    etag: headers.get('etag') ?? undefined,
    lastModified: Number.isNaN(parsed) ? undefined : parsed,
    contentType: headers.get('content-type') ?? rep.contentType,
    validators: full.filter(([name]) => NOT_MODIFIED_HEADERS.has(name)),
    base: full.filter(([name]) => name !== 'content-length'),
    full,
  };
}

/**
 * The headers of a 200 (`extra` undefined: the full set) or a 206 (`extra` with
 * Content-Range/Length/Type, replacing those of the same name).
 */
function finalHeaders(rep: Representation, extra: [string, string][] | undefined): HeadersInit {
  if (!extra) return rep.full;
  const names = new Set(extra.map(([name]) => name));
  return [...rep.base.filter(([name]) => !names.has(name)), ...extra];
}

async function multipartBody(
  file: FileEntry,
  settings: FileSettings,
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
    headers: finalHeaders(rep, [
      ['content-type', framing.contentType],
      ['content-length', String(framing.length)],
    ]),
  };
  if (settings.view.cacheable(size)) {
    const bytes = await settings.view.content(file);
    if (bytes === undefined) return undefined;
    return new FastResponse(multipartBytes(framing, ranges, bytes), init);
  }
  const handle = await settings.view.openFor(file);
  if (handle === undefined) return undefined;
  return new FastResponse(multipartStream(handle, ranges, framing) as unknown as BodyInit, init);
}

/** The body for bytes start…end of `file`: from memory when small, else streamed. */
function body(
  file: FileEntry,
  settings: FileSettings,
  start: number,
  end: number,
  init: ResponseInit,
): Response | undefined | Promise<Response | undefined> {
  if (end < start) return new FastResponse(null, init); // an empty file
  if (!settings.view.cacheable(file.size)) return streamedBody(file, start, end, init);
  const cached = settings.view.cachedContent(file);
  if (cached) return fromMemory(cached, start, end, init);
  return settings.view
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
