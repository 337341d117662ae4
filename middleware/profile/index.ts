/**
 * `mortar/profile` — a CPU profile per request, for "why is this page slow" (Werkzeug's
 * ProfilerMiddleware, paste.debug.profile), and a page that lists them with a flame chart.
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { profile } from 'mortar/profile';
 * const app = compose(profile({ dir: 'profiles', trigger: { query: 'profile' } }))(site);
 * // GET /report?profile → profiles/2026-12-04T17-05-01.123Z_GET_report_200_412ms.cpuprofile
 * // GET /__profile__/   → the profiles, newest first, with their heaviest functions
 * ```
 *
 * Each chosen request — every one, a sampled fraction (`sample`), or those carrying a
 * trigger (a query parameter or a header) — runs under a V8 CPU profile (`node:inspector`'s
 * Profiler, same thread), written when the application has answered as a `.cpuprofile` that
 * Chrome DevTools (Performance panel, "Load profile") and speedscope open: named after the
 * method, path, status, milliseconds and time, its call frames mapped to the TypeScript
 * lines. A profile covers the whole process, so profiled requests run one at a time unless
 * `serialize: false` (an unprofiled request is never held up). The session is kept warm (see
 * profiler.ts): a profile starts in a tenth of a millisecond, where a cold start walks the
 * heap. A streamed body's work after the application returned its Response is not in it.
 *
 * The index, `{scriptName}/__profile__/` (`path`): the profiles, newest first, with duration
 * and heaviest functions by self time (at TypeScript positions), each downloadable, and a
 * flame chart drawn in the page by its own small script — no request leaves the page.
 * It follows debug()'s rules: development only (refuses `NODE_ENV=production` unless
 * `force`); only a trusted Host and peer with no proxy header (`hosts`, `addresses`,
 * `trustProxy`) reach it, others get a 404; and only a browser that gave debug()'s PIN (the
 * same secret file, so one PIN and one cookie serve both) sees it; `no-store`, `nosniff`, a
 * nonce CSP with `frame-ancestors 'none'`.
 *
 * `mortar serve --profile [DIR]` turns it on without code.
 * @module mortar/profile
 */

import { terminalSafe } from '../../src/_internal/log.js';
import { ConfigError, is, optionChecker, valueKind } from '../../src/_internal/options.js';
import { isToken } from '../../src/_internal/response-parts.js';
import { assertEnviron } from '../../src/environ.js';
import type { Environ, Middleware } from '../../src/types.js';
import { isTrusted, type TrustSettings } from '../_shared/dev-trust.js';
import { PinGate } from '../_shared/pin.js';
import { defaultSecretFile, loadSecret } from '../_shared/secret.js';
import { profilePages } from './pages.js';
import { Profiler } from './profiler.js';
import { ProfileStore } from './store.js';
import { mapProfile } from './summary.js';

export type { CpuProfile, CpuProfileNode } from './profiler.js';
export type { ProfileEntry } from './store.js';
export type { HeavyFunction } from './summary.js';
export { heaviestFunctions, mapProfile } from './summary.js';

/** Options of {@link profile}. */
export interface ProfileOptions {
  /** The folder the `.cpuprofile` files go to (made when missing). Required. */
  dir: string;
  /**
   * The fraction of matching requests profiled, 0 to 1. @default 1 without `trigger`, 0 with
   * one (only the requests that carry it)
   */
  sample?: number;
  /** Which requests may be profiled. @default every request but the index's own */
  match?: (request: Request, environ: Environ) => boolean;
  /**
   * A request carrying this query parameter (`?profile`) or this header is profiled, whatever
   * `sample` says. @default none
   */
  trigger?: { query?: string; header?: string };
  /** Profiled requests run one at a time (each profile shows one request). @default true */
  serialize?: boolean;
  /** The index's path below the mount. @default '/__profile__' */
  path?: string;
  /** Run even under `NODE_ENV=production` (construction throws otherwise). @default false */
  force?: boolean;
  /** Host names trusted besides localhost, *.localhost, 127.0.0.1 and [::1]. @default [] */
  hosts?: readonly string[];
  /** Peer addresses trusted besides loopback. @default [] */
  addresses?: readonly string[];
  /** Proxy headers do not make a request untrusted. @default false */
  trustProxy?: boolean;
  /** debug()'s secret file: the PIN and its cookie. @default debug()'s default */
  secretFile?: string | false;
  /** Where the PIN line and each profile's line go. @default stderr */
  log?: (line: string) => void;
}

const checkOptions = optionChecker<ProfileOptions>('profile', {
  dir: is.required(
    valueKind('a folder (a non-empty string)', (v) => typeof v === 'string' && v !== ''),
  ),
  sample: valueKind('a fraction from 0 to 1', (v) => typeof v === 'number' && v >= 0 && v <= 1),
  match: is.function,
  trigger: is.object,
  serialize: is.boolean,
  // '/' alone would make every request the index's.
  path: valueKind(
    'a path below the mount (starting with "/", not "/" alone)',
    (v) => typeof v === 'string' && v.startsWith('/') && v.replace(/\/+$/, '') !== '',
  ),
  force: is.boolean,
  hosts: is.strings,
  addresses: is.strings,
  trustProxy: is.boolean,
  secretFile: is.either(is.string, is.oneOf(false)),
  log: is.function,
});

const checkTrigger = optionChecker<NonNullable<ProfileOptions['trigger']>>(
  'profile',
  {
    query: valueKind(
      'a query parameter name (a non-empty string)',
      (v) => typeof v === 'string' && v !== '',
    ),
    header: valueKind('a header field name', (v) => typeof v === 'string' && isToken(v)),
  },
  'trigger.',
);

/** One profiler per process: node:inspector's profile covers the process. */
let profiler: Profiler | undefined;

/**
 * Profiles the requests `sample`, `trigger` and `match` choose, and serves the index of the
 * profiles at `{scriptName}{path}/`. See the module comment.
 *
 * ```ts
 * profile({
 *   dir: 'profiles',          // required: where the .cpuprofile files go
 *   sample: 1,                // fraction of matching requests (0 when a trigger is given)
 *   trigger: { query: 'profile', header: 'x-profile' }, // these are always profiled
 *   match: () => true,        // which requests may be
 *   serialize: true,          // one profiled request at a time
 *   path: '/__profile__',     // the index
 *   force: false, hosts: [], addresses: [], trustProxy: false,  // as debug()
 *   secretFile: '.cache/debug-secret', log: console.error,    // as debug()
 * })
 * ```
 *
 * @throws ConfigError, its message starting `profile:`, for missing options, an unknown option
 *   (with the name it is likely a typo of), a missing `dir`, or a value of the wrong kind: a
 *   `sample` outside 0–1, a `path` that does not start with `/` (or is `/` alone), a
 *   `trigger.header` that is not a header field name.
 * @throws Error under `NODE_ENV=production` without `force: true`, or when `dir` cannot be made.
 */
export function profile(options: ProfileOptions): Middleware {
  const settings = resolveOptions(options);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = new ProfileStore(options.dir);
  const secret = loadSecret(options.secretFile ?? defaultSecretFile());
  if (secret.problem) log(`mortar profile: ${secret.problem}; the PIN changes at each start`);
  const pin = new PinGate(secret.value);
  const trust: TrustSettings = {
    hosts: new Set((options.hosts ?? []).map((h) => h.toLowerCase())),
    addresses: new Set(options.addresses ?? []),
    trustProxy: options.trustProxy ?? false,
  };
  profiler ??= new Profiler();
  const running = profiler;
  const pages = profilePages(store, pin, log);
  const { sample, trigger, match, serialize, base } = settings;
  return function profile(app) {
    return function profileApp(request, environ) {
      assertEnviron(environ, 'profile()');
      const { pathInfo } = environ;
      if (pathInfo === base || pathInfo.startsWith(`${base}/`)) {
        if (!isTrusted(request, environ, trust)) return new Response('Not Found', { status: 404 });
        return pages(request, environ, base);
      }
      const chosen = triggered(request, trigger) || (sample > 0 && Math.random() < sample);
      if (!chosen || (match && !match(request, environ))) return app(request, environ);
      return profiled(app, request, environ, { profiler: running, store, serialize, log });
    };
  };
}

/** The options, checked, with their defaults. */
function resolveOptions(options: ProfileOptions) {
  checkOptions(options);
  checkTrigger(options.trigger);
  if (
    options.trigger &&
    options.trigger.query === undefined &&
    options.trigger.header === undefined
  ) {
    // A trigger of nothing would turn sampling off and profile no request, silently.
    throw new ConfigError(
      'profile: option "trigger" must name a query parameter or a header ({ query: \'profile\' }), got {}',
    );
  }
  const sample = options.sample ?? (options.trigger ? 0 : 1);
  const base = (options.path ?? '/__profile__').replace(/\/+$/, '');
  if (process.env.NODE_ENV === 'production' && !options.force) {
    throw new Error(
      'profile(): refusing to run with NODE_ENV=production — its index shows your code and profiling slows every request it covers (pass force: true if you really mean it)',
    );
  }
  const header = options.trigger?.header?.toLowerCase();
  const query = options.trigger?.query;
  return {
    sample,
    base,
    serialize: options.serialize ?? true,
    match: options.match,
    trigger: { ...(header ? { header } : {}), ...(query ? { query } : {}) },
  };
}

/** Whether the request carries the trigger's header or query parameter. */
function triggered(request: Request, trigger: { query?: string; header?: string }): boolean {
  if (trigger.header && request.headers.has(trigger.header)) return true;
  if (!trigger.query || !request.url.includes('?')) return false;
  return new URL(request.url).searchParams.has(trigger.query);
}

/** Runs the application under a profile, writes it, and answers as the application did. */
async function profiled(
  app: (request: Request, environ: Environ) => Response | Promise<Response>,
  request: Request,
  environ: Environ,
  context: {
    profiler: Profiler;
    store: ProfileStore;
    serialize: boolean;
    log: (line: string) => void;
  },
): Promise<Response> {
  const { result, profile: taken } = await context.profiler.run(async () => {
    const time = Date.now();
    const start = performance.now();
    try {
      const response = await app(request, environ);
      return { time, duration: performance.now() - start, response, failed: false as const };
    } catch (error) {
      return { time, duration: performance.now() - start, error, failed: true as const };
    }
  }, context.serialize);
  const entry = {
    time: result.time,
    method: request.method,
    path: environ.scriptName + environ.pathInfo,
    status: result.failed ? 'error' : String(result.response.status),
    duration: result.duration,
  };
  try {
    const name = await context.store.write(entry, mapProfile(taken));
    context.log(
      terminalSafe(
        `mortar profile: ${entry.method} ${entry.path} ${Math.round(entry.duration)} ms → ${name}`,
      ),
    );
  } catch (error) {
    context.log(
      terminalSafe(
        `mortar profile: could not write the profile of ${entry.method} ${entry.path}: ${String(error)}`,
      ),
    );
  }
  if (result.failed) throw result.error;
  return result.response;
}
