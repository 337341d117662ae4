/**
 * The shortest way through the cache, for a request mortar's Node gateway made: read straight
 * from Node's request (no header reader made), a `GET` or `HEAD` for a URL this process
 * remembers as not storable (pass.ts) goes to the application at once, and only its answer's
 * fields are read (handler.ts's `passed`). Any other request gets its header reader and goes
 * on with the pass memory already asked (one lookup a request).
 */
import { isThenable } from '../../src/_internal/thenable.js';
import { nodeHeader } from '../../src/request-header.js';
import type { Application, Environ } from '../../src/types.js';
import { cachedRequest, passed } from './handler.js';
import { hasDirective } from './policy.js';
import { type NodeRequest, nodeHeadersOf, passHostOf } from './request.js';
import { notCached } from './respond.js';
import type { Settings } from './settings.js';

/**
 * Answers a `GET` or `HEAD` that mortar's Node gateway made (`req`, without `Upgrade`): at
 * once from the application when its URL is remembered as not storable (a `504` to
 * `only-if-cached`), else through the cache.
 */
export function nodeRequest(
  app: Application,
  request: Request,
  environ: Environ,
  req: NodeRequest,
  s: Settings,
): Response | Promise<Response> {
  const raw = req.headers;
  const target = req.url;
  const host = passHostOf(raw);
  if (!s.passes.has(target, host)) {
    return cachedRequest(app, request, environ, nodeHeadersOf(req), s, { target, host });
  }
  const cc = raw['cache-control'] === undefined ? null : nodeHeader(raw, 'cache-control');
  if (cc !== null && hasDirective(cc, 'only-if-cached')) return notCached(s);
  const inner = s.environFor(environ, request);
  const response = app(request, inner);
  if (isThenable<Response>(response)) {
    return Promise.resolve(response).then((later) => passed(app, request, inner, cc, s, later));
  }
  return passed(app, request, inner, cc, s, response);
}
