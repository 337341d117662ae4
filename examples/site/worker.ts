/**
 * The demo's portable part as a Cloudflare Worker (workerd, Wrangler, or Cloudflare itself):
 * everything that needs no `node:` module — an access log, hello, urlmap, the Hono API, cookie
 * sessions with csrf-protected forms, compress, a body limit, errors() — run by
 * `toFetchHandler`.
 *
 *   npx esbuild examples/site/worker.ts --bundle --format=esm --platform=neutral \
 *     --conditions=workerd,worker,browser --main-fields=module,main --external:'node:*' \
 *     --external:'cloudflare:*' --outfile=worker.js
 *
 * and a workerd config or `wrangler.toml` naming `worker.js` as the main module, with the
 * bindings `SESSION_SECRET` (a secret, 32 characters or more) and `GREETING` (a variable).
 * What needs Node (serveStatic, debug(), Express through fromNodeHandler) is left out.
 */

import { accessLog } from '../../middleware/access-log/index.js';
import { bodyLimit } from '../../middleware/body-limit/index.js';
import { compress } from '../../middleware/compress/index.js';
import { errors } from '../../middleware/errors/index.js';
import { helloWorld } from '../../middleware/hello/index.js';
import { CookieStore, session } from '../../middleware/session/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import {
  type Application,
  compose,
  FastResponse,
  type FetchHandler,
  fetchRuntime,
  getWorkersEnv,
  toFetchHandler,
  waitUntil,
} from '../../src/index.js';
import { accountApp } from './account.js';
import { boom } from './boom.js';
import { api, home, page, where } from './pages.js';

/** The worker's bindings (its `env`). */
export interface Env {
  /** Seals the session cookies: 32 characters or more. */
  SESSION_SECRET: string;
  /** A plain-text variable, shown by `/runtime`. */
  GREETING?: string;
}

/** `/runtime`: what the runtime passed, read from the environ. */
const runtime: Application = (_request, environ) =>
  FastResponse.json({
    runtime: fetchRuntime(environ)?.name,
    greeting: getWorkersEnv<Env>(environ).GREETING ?? null,
    remoteAddress: environ.remoteAddress ?? null,
  });

let finished = 0;
/**
 * `/later` answers at once and finishes a task after its response (`waitUntil`);
 * `/later/finished` says how many such tasks have finished in this isolate.
 */
const later: Application = (_request, environ) => {
  if (environ.pathInfo === '/finished') return FastResponse.json({ finished });
  waitUntil(
    environ,
    new Promise<void>((resolve) => setTimeout(resolve, 20)).then(() => {
      finished++;
    }),
  );
  return new FastResponse('started a task that ends after this response\n');
};

/** The portable site, its sessions sealed with `secret`. */
export function portableSite(secret: string): Application {
  return compose(
    accessLog(),
    errors(),
    compress(),
    bodyLimit({ maxBytes: 64 * 1024 }),
    helloWorld(),
    session({ secret, store: new CookieStore() }),
  )(
    urlmap({
      '/': home,
      '/api': api.fetch,
      '/where': where,
      '/nested': urlmap({ '/where': where }),
      '/account': accountApp(page),
      '/boom': boom,
      '/runtime': runtime,
      '/later': later,
    }),
  );
}

let handler: FetchHandler | undefined;

export default {
  /** The site is built on the first request: the session secret is a binding. */
  fetch(request: Request, env: Env, ctx: unknown): Promise<Response> {
    handler ??= toFetchHandler(portableSite(env.SESSION_SECRET));
    return handler(request, env, ctx);
  },
};
