/**
 * The demo site that `npm start` serves on http://127.0.0.1:8000/.
 *
 * `helloWorld` wraps a `urlmap`: a home page at `/`, a Hono application mounted unchanged at
 * `/api` (any fetch handler is an `Application`), `/where` — a page that shows its own
 * `scriptName` and `pathInfo`, mounted twice to show how a mount shifts them — and static
 * files from `public/` under `/static/` (serveStatic) and at `/favicon.svg` (fileApp), and a
 * service on another port mounted with `proxy()` at `/remote`; `/slow/`, a page that blocks the
 * event loop, for blockWatch() and profile(); `/cached`, a slow page behind cache(); `/live/`, a
 * chat over a WebSocket whose handshake goes through session() and csrf().
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockWatch } from '../../middleware/block-watch/index.js';
import { errors } from '../../middleware/errors/index.js';
import { helloWorld } from '../../middleware/hello/index.js';
import { profile } from '../../middleware/profile/index.js';
import { session } from '../../middleware/session/index.js';
import { fileApp, serveStatic } from '../../middleware/static/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { type Application, compose, errorResponse } from '../../src/index.js';
import { accountApp } from './account.js';
import { boom } from './boom.js';
import { cachedApp } from './cached.js';
import { legacyApp } from './legacy.js';
import { liveApp } from './live.js';
import { api, home, page, where } from './pages.js';
import { remoteApp } from './remote.js';
import { slow } from './slow.js';

const publicDir = fileURLToPath(new URL('./public', import.meta.url));
/** Sessions need a secret; the demo makes one per process unless SESSION_SECRET is set. */
const secret = process.env.SESSION_SECRET ?? crypto.randomUUID() + crypto.randomUUID();
const notFound: Application = (request) => errorResponse(404, request);

const production = process.env.NODE_ENV === 'production';
/**
 * Development shows the interactive traceback; production only an error id, and loads no
 * debugger (node:inspector) at all.
 */
const errorPages = production
  ? errors()
  : (await import('../../middleware/debug/index.js')).debug();
/**
 * Development also names the code that blocks the event loop, and profiles the requests that
 * ask (`?profile`) into a folder under the temporary directory.
 */
const slowPages = production
  ? []
  : [
      blockWatch(),
      profile({
        dir: process.env.PROFILE_DIR ?? path.join(tmpdir(), 'mortar-demo-profiles'),
        trigger: { query: 'profile' },
      }),
    ];

/** The demo site: `mortar serve examples/site/index.ts`. */
export const application: Application = compose(
  errorPages,
  ...slowPages,
  helloWorld(),
  session({ secret }),
)(
  urlmap({
    '/': home,
    '/api': api.fetch,
    '/where': where,
    '/nested': urlmap({ '/where': where }),
    '/static': serveStatic(publicDir, { listing: true, precompressed: ['gzip'], maxAge: 300 })(
      notFound,
    ),
    '/favicon.svg': fileApp(`${publicDir}/favicon.svg`, { maxAge: 86_400 }),
    '/account': accountApp(page),
    '/boom': boom,
    '/legacy': legacyApp,
    '/remote': remoteApp,
    '/slow': slow,
    '/cached': cachedApp(page),
    '/live': liveApp(page),
  }),
);
