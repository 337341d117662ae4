/**
 * `mortar/debug` — error pages: `errors()` for production, `debug()` for development (WebError's
 * EvalException, Werkzeug's DebuggedApplication, youch).
 *
 * ```ts
 * import { debug, errors } from 'mortar/debug';
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
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import { errorResponse, HTTPError } from '../../src/http-error.js';
import { preferredMediaType } from '../../src/negotiation.js';
import { FastResponse } from '../../src/response.js';
import type { Environ, Middleware } from '../../src/types.js';
import { type CapturedFrame, type CaptureOptions, LocalsCapture } from './capture.js';
import { type ConsoleScope, evaluate } from './console.js';
import { redactHeaders, type Traceback, tracebackHTML, tracebackJSON } from './render.js';
import { type Frame, formatText, reportOf } from './stack.js';

export { evaluate } from './console.js';
export { type ErrorReport, type Frame, formatText, parseFrames, reportOf } from './stack.js';

/** Options of {@link errors}. */
export interface ErrorsOptions {
  /** Called with every unhandled error (for reporting); its own failures are logged. */
  onError?: (error: unknown, request: Request, environ: Environ) => void | Promise<void>;
  /** Receives the structured record of each error. Default: one JSON line on stderr. */
  log?: (record: ErrorRecord) => void;
}

/** What `errors()` logs for one error. */
export interface ErrorRecord {
  level: 'error';
  id: string;
  time: string;
  method: string;
  url: string;
  message: string;
  /** The source-mapped traceback, with causes and AggregateError members. */
  traceback: string;
}

const defaultLog = (record: ErrorRecord): void => {
  process.stderr.write(`${JSON.stringify(record)}\n`);
};

/** Handles an unhandled error the production way: log, report, answer a plain 500 with an id. */
function productionError(
  error: unknown,
  request: Request,
  environ: Environ,
  options: ErrorsOptions,
): Response {
  const id = randomBytes(8).toString('hex');
  const report = reportOf(error);
  (options.log ?? defaultLog)({
    level: 'error',
    id,
    time: new Date().toISOString(),
    method: request.method,
    url: request.url,
    message: `${report.name}: ${report.message}`,
    traceback: formatText(report),
  });
  if (options.onError) {
    Promise.resolve()
      .then(() => options.onError!(error, request, environ))
      .catch((failure: unknown) =>
        process.stderr.write(`mortar errors: onError failed: ${String(failure)}\n`),
      );
  }
  return errorResponse(500, request, `Something went wrong on our side. Error id: ${id}`, {
    'x-error-id': id,
  });
}

/**
 * The production error middleware. See the module comment.
 */
export function errors(options: ErrorsOptions = {}): Middleware {
  return (app) => async (request, environ) => {
    let response: Response;
    try {
      response = await app(request, environ);
    } catch (error) {
      if (error instanceof HTTPError) return error.toResponse(request);
      return productionError(error, request, environ, options);
    }
    return guardBody(response, (error) => productionError(error, request, environ, options));
  };
}

/**
 * A response whose streamed body, should it fail, ends instead of breaking the connection,
 * after `onError` ran. A FastResponse passes as it is: reading its body would build a native
 * Response on every request; should its stream fail, the gateway cuts the connection and logs.
 */
function guardBody(response: Response, onError: (error: unknown) => void): Response {
  if (typeof (response as { _toNodeResponse?: unknown })._toNodeResponse === 'function')
    return response;
  const body = response.body;
  if (!body) return response;
  const reader = body.getReader();
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        onError(error);
        controller.close();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new FastResponse(guarded, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** Options of {@link debug}. */
export interface DebugOptions {
  /** Run even under `NODE_ENV=production`. Default `false` (construction throws). */
  force?: boolean;
  /** Host names trusted besides localhost, *.localhost, 127.0.0.1 and [::1]. */
  hosts?: readonly string[];
  /** Milliseconds a console evaluation may take. Default `5000`. */
  consoleTimeout?: number;
  /** Errors kept for the console. Default `20`. */
  maxErrors?: number;
  /** Seconds an error stays available to the console. Default `3600`. */
  ttl?: number;
  /** Locals capture through node:inspector; `false` turns it off. */
  capture?: CaptureOptions | false;
  /** Where the PIN line (and the errors of untrusted hosts) go. Default stderr. */
  log?: (line: string) => void;
  /** Options of the plain page untrusted hosts get. */
  errors?: ErrorsOptions;
}

interface Kept {
  traceback: Traceback;
  error: unknown;
  request: Request;
  environ: Environ;
  captured: (CapturedFrame | undefined)[];
  scopes: Map<number, ConsoleScope>;
  expires: number;
}

/** The per-process console token (256 random bits). */
const TOKEN = randomBytes(32).toString('hex');
let capture: LocalsCapture | undefined;

/**
 * The development error middleware: the interactive traceback. See the module comment.
 *
 * @throws Error at construction under `NODE_ENV=production` without `force: true`.
 */
export function debug(options: DebugOptions = {}): Middleware {
  if (process.env.NODE_ENV === 'production' && !options.force) {
    throw new Error(
      'debug(): refusing to run with NODE_ENV=production — its console runs code on the server; use errors() there (or pass force: true if you really mean it)',
    );
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const trusted = new Set((options.hosts ?? []).map((h) => h.toLowerCase()));
  const maxErrors = options.maxErrors ?? 20;
  const ttl = (options.ttl ?? 3600) * 1000;
  const timeout = options.consoleTimeout ?? 5000;
  if (options.capture !== false) {
    capture ??= new LocalsCapture(options.capture);
    if (options.capture?.mode === 'always') capture.arm();
  }
  const kept = new Map<string, Kept>();
  const pin = `${randomInt(100, 1000)}-${randomInt(100, 1000)}-${randomInt(100, 1000)}`;
  const pinCookieValue = createHmac('sha256', TOKEN).update(`pin:${pin}`).digest('base64url');
  let pinShown = false;
  let failures = 0;

  const isTrusted = (request: Request): boolean => {
    const host = new URL(request.url).hostname.toLowerCase();
    return (
      host === 'localhost' ||
      host.endsWith('.localhost') ||
      host === '127.0.0.1' ||
      host === '[::1]' ||
      trusted.has(host)
    );
  };

  const remember = (entry: Kept): void => {
    const now = Date.now();
    for (const [id, value] of kept) if (value.expires <= now) kept.delete(id);
    kept.set(entry.traceback.id, entry);
    while (kept.size > maxErrors) kept.delete(kept.keys().next().value as string);
  };

  /** The traceback (or, for an untrusted Host, the plain page) for an error of the application. */
  const onError = (error: unknown, request: Request, environ: Environ): Response => {
    const base = `${environ.scriptName}/__debug__`;
    if (error instanceof HTTPError) return error.toResponse(request);
    if (!isTrusted(request)) return productionError(error, request, environ, options.errors ?? {});
    const id = randomBytes(8).toString('hex');
    const report = reportOf(error);
    const wasArmed = capture?.armed ?? false;
    capture?.arm();
    const captured = align(report.frames, capture?.framesOf(error));
    const traceback: Traceback = {
      id,
      report,
      locals: captured,
      capture: capture === undefined ? 'off' : wasArmed ? 'on' : 'starting',
      request: {
        method: request.method,
        url: request.url,
        headers: redactHeaders(request.headers),
      },
      environ: {
        scriptName: environ.scriptName,
        pathInfo: environ.pathInfo,
        remoteAddress: String(environ.remoteAddress),
        gateway: environ.gateway,
      },
    };
    remember({
      traceback,
      error,
      request,
      environ,
      captured,
      scopes: new Map(),
      expires: Date.now() + ttl,
    });
    log(`mortar debug: ${report.name}: ${report.message} (error ${id})`);
    if (!pinShown) {
      pinShown = true;
      log(`mortar debug: the console PIN is ${pin}`);
    }
    return renderTraceback(request, traceback, base, unlocked(request));
  };

  // No async wrapper on the way in: a request that throws nothing pays one function call.
  return (app) => (request, environ) => {
    if (environ.pathInfo.startsWith('/__debug__/')) {
      if (!isTrusted(request)) return errorResponse(404, request);
      return debuggerEndpoint(request, environ.pathInfo.slice('/__debug__'.length));
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

  function unlocked(request: Request): boolean {
    const cookies = parseCookie(request.headers.get('cookie') ?? '');
    const value = cookies.mortar_debug;
    return value !== undefined && safeEqual(value, pinCookieValue);
  }

  async function debuggerEndpoint(request: Request, path: string): Promise<Response> {
    const json = (status: number, body: { ok: boolean; text: string }, headers: HeadersInit = {}) =>
      new FastResponse(JSON.stringify(body), {
        status,
        headers: {
          ...SECURITY_HEADERS,
          'content-type': 'application/json; charset=utf-8',
          ...headers,
        },
      });
    if (path !== '/console' && path !== '/pin') return errorResponse(404, request);
    if (request.method !== 'POST') return errorResponse(405, request, undefined, { allow: 'POST' });
    const token = request.headers.get('x-mortar-debug-token');
    if (token === null || !safeEqual(token, TOKEN))
      return json(403, { ok: false, text: 'missing or wrong debugger token' });
    const origin = request.headers.get('origin');
    if (origin === null || origin !== new URL(request.url).origin) {
      return json(403, { ok: false, text: 'the Origin must be this site' });
    }
    const site = request.headers.get('sec-fetch-site');
    if (site !== null && site !== 'same-origin')
      return json(403, { ok: false, text: 'cross-site requests are refused' });
    let body: Record<string, unknown>;
    try {
      const text = await request.text();
      if (text.length > 65_536) return json(413, { ok: false, text: 'too long' });
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return json(400, { ok: false, text: 'the body must be JSON' });
    }
    if (failures >= 10)
      return json(403, {
        ok: false,
        text: 'the console is locked after 10 wrong PINs; restart the server',
      });
    if (path === '/pin') {
      if (typeof body.pin === 'string' && safeEqual(body.pin.trim(), pin)) {
        failures = 0;
        const cookie = stringifySetCookie('mortar_debug', pinCookieValue, {
          path: new URL(request.url).pathname.replace(/\/pin$/, '/'),
          httpOnly: true,
          sameSite: 'strict',
          secure: request.url.startsWith('https:'),
        });
        return json(200, { ok: true, text: 'unlocked' }, { 'set-cookie': cookie });
      }
      failures++;
      return json(403, {
        ok: false,
        text:
          failures >= 10
            ? 'wrong PIN; the console is now locked until restart'
            : `wrong PIN (${10 - failures} tries left)`,
      });
    }
    if (!unlocked(request)) return json(401, { ok: false, text: 'enter the PIN first' });
    const entry = typeof body.id === 'string' ? kept.get(body.id) : undefined;
    if (!entry || entry.expires <= Date.now()) {
      if (entry) kept.delete(body.id as string);
      return json(410, {
        ok: false,
        text: 'expired: this error is no longer kept; reload the page that failed',
      });
    }
    const frame = Number(body.frame);
    const expression = typeof body.expression === 'string' ? body.expression : '';
    let scope = entry.scopes.get(frame);
    if (!scope) {
      scope = {
        ...(entry.captured[frame]?.locals ?? {}),
        $err: entry.error,
        $request: entry.request,
        $environ: entry.environ,
      };
      entry.scopes.set(frame, scope);
    }
    return json(200, await evaluate(scope, expression, timeout));
  }
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function renderTraceback(
  request: Request,
  traceback: Traceback,
  base: string,
  unlocked: boolean,
): Response {
  const type =
    preferredMediaType(request.headers.get('accept'), [
      'text/plain',
      'text/html',
      'application/json',
    ] as const) ?? 'text/plain';
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    vary: 'Accept',
    'x-error-id': traceback.id,
  };
  if (type === 'application/json') {
    return new FastResponse(JSON.stringify(tracebackJSON(traceback)), {
      status: 500,
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    });
  }
  if (type === 'text/plain') {
    return new FastResponse(formatText(traceback.report), {
      status: 500,
      headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  const nonce = randomBytes(16).toString('base64');
  return new FastResponse(tracebackHTML(traceback, { nonce, token: TOKEN, base, unlocked }), {
    status: 500,
    headers: {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    },
  });
}

/** Pairs the app frames of the stack with the frames whose locals were captured, by name. */
function align(
  frames: readonly Frame[],
  captured: readonly CapturedFrame[] | undefined,
): (CapturedFrame | undefined)[] {
  const out: (CapturedFrame | undefined)[] = [];
  let next = 0;
  const bare = (name: string) =>
    name
      .replace(/^async /, '')
      .split('.')
      .at(-1) ?? name;
  for (const frame of frames) {
    if (frame.kind === 'internal') continue;
    const candidate = captured?.[next];
    const match = candidate && bare(candidate.name) === bare(frame.name);
    if (match) next++;
    if (frame.kind === 'app') out.push(match ? candidate : undefined);
  }
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
