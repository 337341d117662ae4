/**
 * `urlmap`: mount applications by host and path prefix, shifting `scriptName`/`pathInfo`
 * (the module comment of `mortar/urlmap` says how it matches).
 */
import { ConfigError, is, optionChecker } from '../../src/_internal/options.js';
import { parseHost } from '../../src/_internal/request-target.js';
import {
  assertEnviron,
  originOf,
  rebaseRequest,
  searchOf,
  shiftEnviron,
} from '../../src/environ.js';
import { errorResponse } from '../../src/http-error.js';
import { carryLifespans } from '../../src/lifespan.js';
import { FastResponse } from '../../src/response.js';
import type { Application, Environ } from '../../src/types.js';

/** A mount key in the array form: an optional host and a path prefix. */
export interface MountKey {
  /** `example.com` or `example.com:8080`; case-insensitive; no port matches any port. */
  host?: string;
  /** The prefix, starting with `/`; a trailing `/` is ignored; `/` mounts at the root. */
  path: string;
}

/** A mapping: `{ '/path': app, 'http://host/path': app }`, or pairs, or a `Map`. */
export type URLMapping =
  | Readonly<Record<string, Application>>
  | Iterable<readonly [string | MountKey, Application]>;

/** Options of {@link urlmap}. */
export interface URLMapOptions {
  /** Answers a request that no mount matches. @default a plain 404 (`errorResponse(404)`) that never lists the mounts */
  notFound?: Application;
}

interface Mount {
  /** The key's host name (lower case, IPv6 in brackets), or `undefined` for any host. */
  host: string | undefined;
  /** The key's port, or `undefined` for any port (a default port is written out as such). */
  port: number | undefined;
  /** Percent-encoded canonical prefix: '' for the root, else '/a/b'. */
  prefix: string;
  /** Decoded segments of the prefix. */
  segments: string[];
  app: Application;
  key: string;
}

const checkURLMapOptions = optionChecker<URLMapOptions>('urlmap', { notFound: is.function });
/**
 * Builds an application that dispatches to the mounted applications by host and path prefix.
 * It carries the lifespans of the mounted applications (`withLifespan` in `mortar`), in the
 * order the keys are written, then `notFound`'s: the gateway serving it runs them.
 *
 * @throws ConfigError at construction for a key that is not a path (`/…`) or an `http(s)://`
 *   URL, a key with `?`, `#`, `.`/`..` or empty segments, two keys for the same mount, or a
 *   value that is not a function — each message names the key —, and for an unknown option.
 */
export function urlmap(mapping: URLMapping, options: URLMapOptions = {}): Application {
  checkURLMapOptions(options);
  const entries: Iterable<readonly [string | MountKey, Application]> =
    Symbol.iterator in mapping
      ? (mapping as Iterable<readonly [string | MountKey, Application]>)
      : Object.entries(mapping as Record<string, Application>);
  const mounts: Mount[] = [];
  const seen = new Set<string>();
  const written: Application[] = [];
  for (const [key, app] of entries) {
    const mount = parseKey(key, app);
    const id = `${mount.host ?? ''}:${mount.port ?? ''} ${mount.segments.join('/')}`;
    if (seen.has(id)) throw new ConfigError(`urlmap: ${mount.key} is mounted twice`);
    seen.add(id);
    mounts.push(mount);
    written.push(app);
  }
  // Host keys first, those with a port before the same host's port-less ones, then the
  // longest prefix first: the order the keys were written in never matters.
  mounts.sort(
    (a, b) =>
      Number(b.host !== undefined) - Number(a.host !== undefined) ||
      Number(b.port !== undefined) - Number(a.port !== undefined) ||
      b.segments.length - a.segments.length,
  );
  const anyHost = mounts.some((m) => m.host !== undefined);
  const notFound: Application = options.notFound ?? ((request) => errorResponse(404, request));

  // The lifespans of the mounts run in the order the keys were written (not the match order
  // sorted above), then notFound's.
  return carryLifespans(urlmapApp, ...written, notFound);

  function urlmapApp(request: Request, environ: Environ): Response | Promise<Response> {
    assertEnviron(environ, 'urlmap()');
    const pathInfo = environ.pathInfo;
    const target = anyHost ? hostOf(request) : undefined;
    for (const mount of mounts) {
      if (
        mount.host !== undefined &&
        (target === undefined ||
          mount.host !== target.hostname ||
          (mount.port !== undefined && mount.port !== target.port))
      ) {
        continue;
      }
      const consumed = matchPrefix(pathInfo, mount);
      if (consumed < 0) continue;
      if (consumed === 0) return mount.app(request, environ);
      return dispatch(mount.app, request, environ, consumed);
    }
    return notFound(request, environ);
  }
}

function dispatch(
  app: Application,
  request: Request,
  environ: Environ,
  consumed: number,
): Response | Promise<Response> {
  const pathInfo = environ.pathInfo;
  const prefix = pathInfo.slice(0, consumed);
  const rest = pathInfo.slice(consumed);
  if (rest.startsWith('//')) {
    const merged = `${environ.scriptName}${prefix}/${rest.replace(/^\/+/, '')}`;
    const location = merged + searchOf(request.url);
    return new FastResponse(null, { status: 308, headers: { location } });
  }
  return app(rebaseRequest(request, rest || '/'), shiftEnviron(environ, prefix));
}

/**
 * How many characters of `pathInfo` the mount's prefix covers, or -1 when it does not match
 * on a segment boundary.
 */
function matchPrefix(pathInfo: string, mount: Mount): number {
  const prefix = mount.prefix;
  if (prefix === '') return 0;
  if (
    pathInfo.startsWith(prefix) &&
    (pathInfo.length === prefix.length || pathInfo.charCodeAt(prefix.length) === 47)
  ) {
    return prefix.length;
  }
  if (!pathInfo.includes('%')) return -1;
  // Slow path: the client encoded differently (`%7E` for `~`, lower-case hex, …).
  let position = 0;
  for (const segment of mount.segments) {
    if (pathInfo.charCodeAt(position) !== 47) return -1;
    const end = pathInfo.indexOf('/', position + 1);
    const raw = pathInfo.slice(position + 1, end === -1 ? undefined : end);
    if (safeDecode(raw) !== segment) return -1;
    position = end === -1 ? pathInfo.length : end;
  }
  return position;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The request's host name and port — the port the URL gives, else its scheme's default, so a
 * key `http://example.com:80/` matches `http://example.com/` as the URL parser writes it.
 */
function hostOf(request: Request): { hostname: string; port: number } | undefined {
  const origin = originOf(request.url);
  const parts = parseHost(origin.slice(origin.indexOf('//') + 2));
  if (parts === undefined) return undefined;
  return { hostname: parts.hostname, port: parts.port ?? (origin.startsWith('https:') ? 443 : 80) };
}

function parseKey(key: string | MountKey, app: Application): Mount {
  const shown = JSON.stringify(key);
  const fail = (why: string): never => {
    throw new ConfigError(`urlmap: key ${shown}: ${why}`);
  };
  if (typeof app !== 'function') fail(`the value is ${typeof app}, not an application`);
  let host: string | undefined;
  let path: string;
  if (typeof key === 'string') {
    const match = /^https?:\/\/([^/?#]+)(.*)$/i.exec(key);
    if (match) {
      host = match[1];
      path = match[2] || '/';
    } else path = key;
  } else {
    if (!key || typeof key.path !== 'string') fail('expected { host?, path }');
    host = key.host;
    path = key.path;
  }
  let port: number | undefined;
  if (host !== undefined) {
    const parts = parseHost(host);
    if (parts === undefined) fail('the host is malformed (host[:port], port up to 65535)');
    host = parts!.hostname;
    port = parts!.port;
  }
  if (!path.startsWith('/')) fail('the path must start with "/"');
  if (/[?#]/.test(path)) fail('the path must not hold "?" or "#"');
  const trimmed = path.replace(/\/$/, '');
  const rawSegments = trimmed === '' ? [] : trimmed.slice(1).split('/');
  const segments = rawSegments.map((segment) => {
    const decoded = safeDecode(segment);
    if (decoded === undefined) fail(`the segment "${segment}" has a malformed %-escape`);
    if (decoded === '' || decoded === '.' || decoded === '..') {
      fail('empty, "." and ".." segments cannot be mounted');
    }
    return decoded as string;
  });
  const prefix = segments.map((s) => `/${encodeSegment(s)}`).join('');
  return {
    host,
    port,
    prefix,
    segments,
    app,
    key: shown,
  };
}

/** Percent-encodes a decoded segment the way a URL parser leaves a path: RFC 3986 pchar. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /%(?:21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/g,
    decodeURIComponent,
  );
}
