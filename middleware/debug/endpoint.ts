/**
 * The debugger's own paths under `{scriptName}/__debug__`: `POST /pin` and `POST /console`, with
 * every rule a request must pass before the server evaluates what it sends, and `GET
 * /error/{id}`, a kept traceback for a browser that gave the PIN.
 */
import { errorResponse } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import { evaluate } from './console.js';
import type { ErrorLog } from './kept.js';
import { type PinGate, safeEqual } from './pin.js';
import { lockedResponse, SECURITY_HEADERS, tracebackResponse } from './render.js';

/** What the endpoint checks against. */
export interface ConsoleContext {
  /** The per-process token the page sends in `X-Mortar-Debug-Token`. */
  token: string;
  pin: PinGate;
  errors: ErrorLog;
  /** Milliseconds an evaluation may take. */
  timeout: number;
}

function json(status: number, body: { ok: boolean; text: string }, headers: HeadersInit = {}) {
  return new FastResponse(JSON.stringify(body), {
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * Why a console request is refused, or `undefined` when it may go on: POST only; the token, in
 * constant time (not for the PIN itself: the page gets the token only after the PIN); an
 * `Origin` equal to ours; `Sec-Fetch-Site: same-origin` when sent.
 *
 * @param token - The token to require, or `undefined` for the PIN request.
 */
export function refusal(request: Request, token: string | undefined): Response | undefined {
  if (request.method !== 'POST') return errorResponse(405, request, undefined, { allow: 'POST' });
  const sent = request.headers.get('x-mortar-debug-token');
  if (token !== undefined && (sent === null || !safeEqual(sent, token))) {
    return json(403, { ok: false, text: 'missing or wrong debugger token' });
  }
  const origin = request.headers.get('origin');
  if (origin === null || origin !== new URL(request.url).origin) {
    return json(403, { ok: false, text: 'the Origin must be this site' });
  }
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin') {
    return json(403, { ok: false, text: 'cross-site requests are refused' });
  }
  return undefined;
}

/**
 * Answers a request to one of the debugger's paths.
 * @param path - The path below `/__debug__`: `/pin`, `/console` or `/error/{id}`.
 * @param scriptName - The mount prefix: the PIN cookie's path is `{scriptName}/`.
 */
export async function consoleEndpoint(
  request: Request,
  path: string,
  scriptName: string,
  context: ConsoleContext,
): Promise<Response> {
  if (path.startsWith('/error/')) return keptTraceback(request, path.slice(7), scriptName, context);
  if (path !== '/console' && path !== '/pin') return errorResponse(404, request);
  const refused = refusal(request, path === '/pin' ? undefined : context.token);
  if (refused) return refused;
  let body: Record<string, unknown>;
  try {
    const text = await request.text();
    if (text.length > 65_536) return json(413, { ok: false, text: 'too long' });
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return json(400, { ok: false, text: 'the body must be JSON' });
  }
  const { pin } = context;
  if (pin.locked) {
    return json(403, {
      ok: false,
      text: 'the console is locked after 10 wrong PINs; restart the server',
    });
  }
  if (path === '/pin') return unlock(request, body, scriptName, context);
  if (!pin.unlocked(request)) return json(401, { ok: false, text: 'enter the PIN first' });
  const entry = typeof body.id === 'string' ? context.errors.get(body.id) : undefined;
  if (!entry) {
    return json(410, {
      ok: false,
      text: 'expired: this error is no longer kept; reload the page that failed',
    });
  }
  const scope = context.errors.scopeOf(entry, Number(body.frame));
  const expression = typeof body.expression === 'string' ? body.expression : '';
  return json(200, await evaluate(scope, expression, context.timeout));
}

/**
 * `GET {base}/error/{id}`: the traceback of a kept error, where the plain page sends a browser
 * once its PIN is right; without the PIN cookie, the plain page again.
 */
function keptTraceback(
  request: Request,
  id: string,
  scriptName: string,
  context: ConsoleContext,
): Response {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return errorResponse(405, request, undefined, { allow: 'GET, HEAD' });
  }
  const entry = context.errors.get(id);
  if (!entry) {
    return errorResponse(
      410,
      request,
      'This error is no longer kept (the server restarted, or it expired); make it happen again.',
      SECURITY_HEADERS,
    );
  }
  const base = `${scriptName}/__debug__`;
  if (!context.pin.unlocked(request)) return lockedResponse(request, id, base);
  return tracebackResponse(request, entry.traceback, { base, token: context.token });
}

/**
 * The PIN: a right one sets the cookie that unlocks tracebacks on every path of the
 * application (the page then opens the traceback). A request that carries the cookie of an
 * earlier PIN is told it is unlocked, and one without PIN or cookie to enter it (neither is
 * counted as a wrong try).
 */
function unlock(
  request: Request,
  body: Record<string, unknown>,
  scriptName: string,
  context: ConsoleContext,
): Response {
  const { pin } = context;
  if (pin.unlocked(request)) return json(200, { ok: true, text: 'unlocked' });
  if (typeof body.pin === 'string' && pin.try(body.pin)) {
    const cookie = pin.cookie(`${scriptName}/`, request.url.startsWith('https:'));
    return json(200, { ok: true, text: 'unlocked' }, { 'set-cookie': cookie });
  }
  if (body.pin === undefined) return json(401, { ok: false, text: 'enter the PIN' });
  if (typeof body.pin !== 'string') pin.try('');
  return json(403, {
    ok: false,
    text: pin.locked
      ? 'wrong PIN; the debugger is now locked until restart'
      : `wrong PIN (${pin.triesLeft} tries left)`,
  });
}
