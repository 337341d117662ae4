/**
 * The console endpoint, `POST {scriptName}/__debug__/pin` and `/__debug__/console`: every rule
 * a request must pass before the server evaluates what it sends.
 */
import { errorResponse } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import { evaluate } from './console.js';
import type { ErrorLog } from './kept.js';
import { type PinGate, safeEqual } from './pin.js';
import { previews, SECURITY_HEADERS } from './render.js';

/** What the endpoint checks against. */
export interface ConsoleContext {
  /** The per-process token the page sends in `X-Mortar-Debug-Token`. */
  token: string;
  pin: PinGate;
  errors: ErrorLog;
  /** Milliseconds an evaluation may take. */
  timeout: number;
}

function json(
  status: number,
  body: { ok: boolean; text: string; token?: string; locals?: unknown },
  headers: HeadersInit = {},
) {
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
 * Answers a request to the console endpoint.
 * @param path - The path below `/__debug__`: `/pin` or `/console`.
 */
export async function consoleEndpoint(
  request: Request,
  path: string,
  context: ConsoleContext,
): Promise<Response> {
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
  if (path === '/pin') return unlock(request, body, context);
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
 * The PIN: a right one (or the unlock cookie a right one set earlier) hands the page what it
 * could not show before — the console token and, for the error `body.id`, each app frame's
 * locals — and sets the cookie. A request without a PIN and without the cookie is told to
 * enter it (not counted as a wrong try).
 */
function unlock(
  request: Request,
  body: Record<string, unknown>,
  context: ConsoleContext,
): Response {
  const { pin } = context;
  if (pin.unlocked(request) || (typeof body.pin === 'string' && pin.try(body.pin))) {
    const path = new URL(request.url).pathname.replace(/\/pin$/, '/');
    const cookie = pin.cookie(path, request.url.startsWith('https:'));
    const entry = typeof body.id === 'string' ? context.errors.get(body.id) : undefined;
    const locals =
      entry?.captured.map((frame) => (frame ? Object.fromEntries(previews(frame.locals)) : null)) ??
      [];
    return json(
      200,
      { ok: true, text: 'unlocked', token: context.token, locals },
      { 'set-cookie': cookie },
    );
  }
  if (body.pin === undefined) return json(401, { ok: false, text: 'enter the PIN' });
  if (typeof body.pin !== 'string') pin.try('');
  return json(403, {
    ok: false,
    text: pin.locked
      ? 'wrong PIN; the console is now locked until restart'
      : `wrong PIN (${pin.triesLeft} tries left)`,
  });
}
