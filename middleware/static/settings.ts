/**
 * The options serveStatic and fileApp share, checked and resolved once.
 */
import contentDisposition from 'content-disposition';
import { is, type OptionChecks, optionChecker } from '../../src/_internal/options.js';
import { FileView, type SymlinkPolicy } from './files.js';

/** The value checks of {@link FileOptions}, which serveStatic and fileApp share. */
export const FILE_OPTION_CHECKS: OptionChecks<FileOptions> = {
  maxAge: is.seconds(0),
  immutable: is.boolean,
  cacheControl: is.boolean,
  acceptRanges: is.boolean,
  etag: is.boolean,
  lastModified: is.boolean,
  precompressed: is.listOf(is.oneOf('br', 'gzip', 'zstd')),
  maxRanges: is.positiveInteger,
  setHeaders: is.function,
  cache: is.either(is.object, is.oneOf(false)),
  contentCache: is.either(is.object, is.oneOf(false)),
};

type CacheOptions = Exclude<FileOptions['cache'], false | undefined>;
type ContentCacheOptions = Exclude<FileOptions['contentCache'], false | undefined>;

/** Checks the nested `cache` and `contentCache` options of `where` (serveStatic or fileApp). */
export function checkCacheOptions(where: string, options: FileOptions): void {
  if (options.cache) {
    optionChecker<CacheOptions>(
      where,
      { ttl: is.seconds(0), maxEntries: is.integer(0) },
      'cache.',
    )(options.cache);
  }
  if (options.contentCache) {
    optionChecker<ContentCacheOptions>(
      where,
      { maxFileSize: is.bytes(), maxSize: is.bytes() },
      'contentCache.',
    )(options.contentCache);
  }
}

/** File-name suffixes of the precompressed variants, by content coding. */
export const EXTENSIONS: Readonly<Record<string, string>> = {
  br: '.br',
  gzip: '.gz',
  zstd: '.zst',
};

/** What `setHeaders` learns of the file being served. */
export interface StaticFileInfo {
  /** Absolute path of the file sent (the precompressed variant when one is sent). */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Last modification, in milliseconds since the epoch. */
  mtimeMs: number;
}

/** Options shared by `serveStatic()` and `fileApp()`. */
export interface FileOptions {
  /** `Cache-Control: public, max-age=…`, in seconds. @default 0 */
  maxAge?: number;
  /** Adds `immutable` to Cache-Control. @default false */
  immutable?: boolean;
  /** Send Cache-Control (from `maxAge` and `immutable`); `false` sends none. @default true */
  cacheControl?: boolean;
  /** Send `Accept-Ranges: bytes` and answer Range requests; `false`: always the whole file. @default true */
  acceptRanges?: boolean;
  /** Send a weak ETag (from size, mtime and content coding). @default true */
  etag?: boolean;
  /** Send Last-Modified. @default true */
  lastModified?: boolean;
  /**
   * Precompressed variants to look for (`file.br`, `file.gz`, `file.zst`), preferred first
   * when the client's q-values tie. @default []
   */
  precompressed?: readonly ('br' | 'gzip' | 'zstd')[];
  /** More ranges than this in one request are answered with the full 200. @default 16 */
  maxRanges?: number;
  /** Changes or adds response headers before the response is built. @default undefined */
  setHeaders?: (headers: Headers, file: StaticFileInfo) => void;
  /**
   * The metadata cache (stat results and realpaths): `ttl` in seconds (default `5`),
   * `maxEntries` (default `10_000`); `false` turns it off.
   * @default `{ ttl: 5, maxEntries: 10_000 }` when NODE_ENV=production, else false
   */
  cache?: { ttl?: number; maxEntries?: number } | false;
  /**
   * Small files kept in memory, checked against size and mtime on every use: files up to
   * `maxFileSize` bytes, `maxSize` bytes in all; `false` turns it off.
   * @default { maxFileSize: 65_536, maxSize: 33_554_432 }
   */
  contentCache?: { maxFileSize?: number; maxSize?: number } | false;
}

/** What serving a file needs, resolved once from the options of serveStatic or fileApp. */
export interface FileSettings {
  view: FileView;
  /** A fixed Content-Type (fileApp), else from the file name. */
  contentType: string | undefined;
  /** A Content-Disposition value (fileApp's download). */
  disposition: string | undefined;
  /** The Cache-Control value, or `undefined` for none (`cacheControl: false`). */
  cacheControl: string | undefined;
  /** Send Accept-Ranges and honour Range (`acceptRanges`). */
  acceptRanges: boolean;
  etag: boolean;
  lastModified: boolean;
  precompressed: readonly string[];
  maxRanges: number;
  setHeaders: FileOptions['setHeaders'];
}

/**
 * Checks and resolves the options shared by serveStatic and fileApp.
 * @throws ConfigError (a TypeError) naming a bad option.
 */
export function fileSettings(
  options: FileOptions & { contentType?: string; download?: string },
  root: string | undefined,
  followSymlinks: SymlinkPolicy,
): FileSettings {
  const maxAge = options.maxAge ?? 0;
  const maxRanges = options.maxRanges ?? 16;
  const precompressed = options.precompressed ?? [];
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
    contentType: options.contentType,
    disposition: options.download === undefined ? undefined : contentDisposition(options.download),
    cacheControl:
      options.cacheControl === false
        ? undefined
        : `public, max-age=${maxAge}${options.immutable ? ', immutable' : ''}`,
    acceptRanges: options.acceptRanges ?? true,
    etag: options.etag ?? true,
    lastModified: options.lastModified ?? true,
    precompressed,
    maxRanges,
    setHeaders: options.setHeaders,
  };
}
