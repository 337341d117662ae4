/**
 * `mortar/debug` — error pages: `errors()` for production, `debug()` for development (WebError's
 * EvalException, Werkzeug's DebuggedApplication, youch).
 *
 * ```ts
 * import { compose } from 'mortar';
 * import { debug, errors } from 'mortar/debug';
 *
 * const app = compose(process.env.NODE_ENV === 'production' ? errors() : debug())(site);
 * ```
 *
 * `errors()` logs one structured record (a random error id, the source-mapped traceback) and
 * answers a 500 that carries the id and nothing else (HTML, JSON or text by `Accept`). A thrown
 * `HTTPError` passes through as its own response. An error while a (native) response body
 * streams ends the stream and is logged.
 *
 * `debug()` answers a trusted browser with the interactive traceback: every frame mapped to
 * the TypeScript source with code around it, `cause` chains and AggregateError members, the
 * local variables of each frame captured at throw time, the request (credentials redacted) and
 * the environ — and under each frame a console that evaluates expressions against that frame.
 * Security, all of it on by default: it refuses to start under `NODE_ENV=production` unless
 * `force`; only a trusted `Host` (localhost, *.localhost, 127.0.0.1, [::1], plus `hosts`) sees
 * the traceback, any other gets the plain `errors()` page (CVE-2024-34069); the console takes
 * POSTs only, with a per-process 256-bit token in a custom header (compared in constant time),
 * an `Origin` equal to ours and `Sec-Fetch-Site: same-origin` when sent, and a PIN printed in
 * the terminal (asked once per browser; 10 wrong tries lock the console until restart); every
 * page is `no-store`, `nosniff`, with a nonce CSP and `frame-ancestors 'none'`.
 * @module mortar/debug
 */

import { randomBytes } from 'node:crypto';
import { assertEnviron } from '../../src/fetch-handler.js';
import { terminalSafe } from '../../src/gateways/_shared/log.js';
import { errorResponse, HTTPError } from '../../src/http-error.js';
import type { Environ, Middleware } from '../../src/types.js';
import { optionNames, refuseUnknownOptions } from '../_shared/options.js';
import { type CaptureOptions, LocalsCapture } from './capture.js';
import { consoleEndpoint } from './endpoint.js';
import { type ErrorsOptions, productionError } from './errors.js';
import { ErrorLog } from './kept.js';
import { PinGate } from './pin.js';
import { tracebackResponse } from './render.js';
import { buildTraceback } from './traceback.js';
import { isTrusted, type TrustSettings } from './trust.js';

export type { CaptureOptions } from './capture.js';
export { evaluate } from './console.js';
export { type ErrorRecord, type ErrorsOptions, errors } from './errors.js';
export { type ErrorReport, type Frame, formatText, parseFrames, reportOf } from './stack.js';

/** Options of {@link debug}. */
export interface DebugOptions {
  /** Run even under `NODE_ENV=production` (construction throws otherwise). @default false */
  force?: boolean;
  /** Host names trusted besides localhost, *.localhost, 127.0.0.1 and [::1]. @default [] */
  hosts?: readonly string[];
  /**
   * Peer addresses trusted besides loopback (a developer's other machine, a VM's host), as
   * `environ.remoteAddress` gives them. @default []
   */
  addresses?: readonly string[];
  /**
   * A proxy of yours is in front, so `Forwarded`, `X-Forwarded-*` and `Via` do not make a
   * request untrusted. Without it such a request gets the plain page. @default false
   */
  trustProxy?: boolean;
  /** Milliseconds a console evaluation may take. @default 5000 */
  consoleTimeout?: number;
  /** Errors kept for the console (the oldest go first). @default 20 */
  maxErrors?: number;
  /** Seconds an error stays available to the console. @default 3600 */
  ttl?: number;
  /** Locals capture through node:inspector; `false` turns it off. @default {} (see CaptureOptions) */
  capture?: CaptureOptions | false;
  /** Where the PIN line (and a line per error) goes. @default one line on stderr */
  log?: (line: string) => void;
  /** Options of the plain `errors()` page that untrusted hosts get. @default {} */
  errors?: ErrorsOptions;
}

/** The per-process console token (256 random bits). */
const TOKEN = randomBytes(32).toString('hex');
/** One capture per process: node:inspector has one session per thread. */
let capture: LocalsCapture | undefined;

const CAPTURE_OPTIONS = optionNames<CaptureOptions>()([
  'frames',
  'maxPausesPerSecond',
  'mode',
  'idleTimeout',
]);
const DEBUG_OPTIONS = optionNames<DebugOptions>()([
  'force',
  'hosts',
  'addresses',
  'trustProxy',
  'consoleTimeout',
  'maxErrors',
  'ttl',
  'capture',
  'log',
  'errors',
]);

/** @throws TypeError for an option, or a capture option, that debug() does not know. */
function checkDebugOptions(options: DebugOptions): void {
  refuseUnknownOptions(options, DEBUG_OPTIONS, 'debug');
  if (options.capture) refuseUnknownOptions(options.capture, CAPTURE_OPTIONS, 'debug capture');
}

/**
 * The development error middleware: the interactive traceback (source-mapped frames, locals,
 * an evaluate console behind a PIN), for loopback hosts and peers only.
 *
 * ```ts
 * debug({
 *   force: false,             // refuse under NODE_ENV=production
 *   hosts: [], addresses: [], // trusted besides localhost / loopback peers
 *   trustProxy: false,        // proxy headers make a request untrusted unless true
 *   consoleTimeout: 5000,     // ms per console evaluation
 *   maxErrors: 20, ttl: 3600, // errors kept for the console; seconds each is kept
 *   capture: {},              // locals through node:inspector (frames, mode, …); false: off
 *   log: console.error,       // the PIN line, a line per error
 *   errors: {},               // options of the errors() page untrusted requests get
 * })
 * ```
 *
 * See the module comment for what it shows and whom it trusts.
 *
 * @throws Error at construction under `NODE_ENV=production` without `force: true`.
 */
export function debug(options: DebugOptions = {}): Middleware {
  checkDebugOptions(options);
  if (process.env.NODE_ENV === 'production' && !options.force) {
    throw new Error(
      'debug(): refusing to run with NODE_ENV=production — its console runs code on the server; use errors() there (or pass force: true if you really mean it)',
    );
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const trust: TrustSettings = {
    hosts: new Set((options.hosts ?? []).map((h) => h.toLowerCase())),
    addresses: new Set(options.addresses ?? []),
    trustProxy: options.trustProxy ?? false,
  };
  startCapture(options.capture, log);
  const pin = new PinGate(TOKEN);
  const kept = new ErrorLog(options.maxErrors ?? 20, (options.ttl ?? 3600) * 1000);
  const context = { token: TOKEN, pin, errors: kept, timeout: options.consoleTimeout ?? 5000 };
  let pinShown = false;

  /** The traceback (or, for an untrusted Host, the plain page) for an error of the application. */
  const onError = (error: unknown, request: Request, environ: Environ): Response => {
    if (error instanceof HTTPError) return error.toResponse(request);
    if (!isTrusted(request, environ, trust)) {
      return productionError(error, request, environ, options.errors ?? {});
    }
    const traceback = buildTraceback(error, request, environ, capture);
    kept.remember({ traceback, error, request, environ, captured: traceback.locals });
    log(
      `mortar debug: ${terminalSafe(`${traceback.report.name}: ${traceback.report.message}`)} (error ${traceback.id})`,
    );
    if (!pinShown) {
      pinShown = true;
      log(`mortar debug: the console PIN is ${pin.pin}`);
    }
    const base = `${environ.scriptName}/__debug__`;
    return tracebackResponse(request, traceback, {
      base,
      token: TOKEN,
      unlocked: pin.unlocked(request),
    });
  };

  // No async wrapper on the way in: a request that throws nothing pays one function call.
  return (app) => (request, environ) => {
    assertEnviron(environ, 'debug()');
    if (environ.pathInfo.startsWith('/__debug__/')) {
      if (!isTrusted(request, environ, trust)) return errorResponse(404, request);
      return consoleEndpoint(request, environ.pathInfo.slice('/__debug__'.length), context);
    }
    let result: Response | Promise<Response>;
    try {
      result = app(request, environ);
    } catch (error) {
      return onError(error, request, environ);
    }
    return result instanceof Promise
      ? result.catch((error: unknown) => onError(error, request, environ))
      : result;
  };
}

/**
 * Starts the process's locals capture unless `options` is `false` — or says, in one line,
 * why it cannot: Node's inspector session froze Deno at the second error and is absent on
 * Bun, so there tracebacks come without locals.
 */
function startCapture(
  options: CaptureOptions | false | undefined,
  log: (line: string) => void,
): void {
  if (options === false) return;
  const elsewhere = otherRuntime();
  if (elsewhere) {
    log(
      `mortar debug: on ${elsewhere}, local variables are not captured (that needs Node's inspector); tracebacks and the console work without them`,
    );
    return;
  }
  capture ??= new LocalsCapture(options);
  if (options?.mode === 'always') capture.arm();
}

/** `'Deno'` or `'Bun'` when running there (they answer to `process` too), else `undefined`. */
function otherRuntime(): string | undefined {
  if ((globalThis as { Deno?: unknown }).Deno !== undefined) return 'Deno';
  if ((process.versions as { bun?: string }).bun !== undefined) return 'Bun';
  return undefined;
}
