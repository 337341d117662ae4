/**
 * The debugger's own paths under `{scriptName}/__debug__`: `POST /pin` and `POST /console`, with
 * every rule a request must pass before the server evaluates what it sends, and `GET
 * /error/{id}`, a kept traceback for a browser that gave the PIN.
 */
import { errorResponse } from '../../src/http-error.js';
import { SECURITY_HEADERS } from '../_shared/dev-page.js';
import type { PinGate } from '../_shared/pin.js';
import { json, lockedAnswer, pinRequest, readJSON, refusal } from '../_shared/pin-endpoint.js';
import { evaluate } from './console.js';
import type { ErrorLog } from './kept.js';
import { lockedResponse, tracebackResponse } from './render.js';

export { refusal } from '../_shared/pin-endpoint.js';

/** What the endpoint checks against. */
export interface ConsoleContext {
  /** The per-process token the page sends in `X-Mortar-Debug-Token`. */
  token: string;
  pin: PinGate;
  errors: ErrorLog;
  /** Milliseconds an evaluation may take. */
  timeout: number;
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
  if (path === '/pin') return pinRequest(request, scriptName, context.pin);
  if (path !== '/console') return errorResponse(404, request);
  const refused = refusal(request, context.token);
  if (refused) return refused;
  const body = await readJSON(request);
  if (body instanceof Response) return body;
  const { pin } = context;
  if (pin.locked) return lockedAnswer();
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
