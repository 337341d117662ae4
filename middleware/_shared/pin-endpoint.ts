/**
 * The PIN's endpoint, `POST {page}/pin`, shared by debug() and profile(), and the rules every
 * POST to a development endpoint must pass: POST only; the page's token (when one is
 * required) in constant time; an `Origin` equal to ours; `Sec-Fetch-Site: same-origin` when
 * sent.
 */
import { errorResponse } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import { SECURITY_HEADERS } from './dev-page.js';
import { type PinGate, safeEqual } from './pin.js';

/** A JSON answer `{ ok, text }` with the development pages' headers. */
export function json(
  status: number,
  body: { ok: boolean; text: string },
  headers: HeadersInit = {},
) {
  return new FastResponse(JSON.stringify(body), {
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * Why a POST to a development endpoint is refused, or `undefined` when it may go on: POST
 * only; the token, in constant time (not for the PIN itself: a page gets its token only after
 * the PIN); an `Origin` equal to ours; `Sec-Fetch-Site: same-origin` when sent.
 *
 * @param token - The token to require in `X-Mortar-Debug-Token`, or `undefined` for the PIN.
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
 * The request's JSON object body (at most 64 KiB), or the 400/413 answer to give instead.
 */
export async function readJSON(request: Request): Promise<Record<string, unknown> | Response> {
  try {
    const text = await request.text();
    if (text.length > 65_536) return json(413, { ok: false, text: 'too long' });
    const body = JSON.parse(text) as unknown;
    if (body !== null && typeof body === 'object') return body as Record<string, unknown>;
  } catch {
    // answered below
  }
  return json(400, { ok: false, text: 'the body must be JSON' });
}

/** The answer while 10 wrong PINs keep the pages locked. */
export const lockedAnswer = () =>
  json(403, { ok: false, text: 'the console is locked after 10 wrong PINs; restart the server' });

/**
 * `POST {page}/pin`: a right PIN sets the cookie that unlocks the development pages on every
 * path of the application (`{scriptName}/`). A request that carries the cookie of an earlier
 * PIN is told it is unlocked, and one without PIN or cookie to enter it (neither is counted as
 * a wrong try).
 */
export async function pinRequest(
  request: Request,
  scriptName: string,
  pin: PinGate,
): Promise<Response> {
  const refused = refusal(request, undefined);
  if (refused) return refused;
  const body = await readJSON(request);
  if (body instanceof Response) return body;
  if (pin.locked) return lockedAnswer();
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
