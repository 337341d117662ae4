/**
 * `/live`: a small chat over a WebSocket — the page at `/live/`, its socket at `/live/ws`.
 *
 * The handshake is an ordinary request through the demo's chain: `session()` gives the name a
 * message is sent under (the one signed in at `/account/`, else a guest name kept in the
 * session), and `csrf()` refuses a handshake from another origin's page with 403 (cross-site
 * WebSocket hijacking: the handshake carries this site's cookies). Only `webSocket()`, the
 * innermost application, accepts; the gateway upgrades on that accept alone.
 *
 * The page's script is a served file (`public/live.js`, under the page's own
 * `Content-Security-Policy`, which allows no inline script): it reconnects by itself, with
 * back-off, when the server restarts, and shows whether it is connected.
 *
 * Nothing here needs a `node:` module; publishes reach the sockets of one process (`serve`'s
 * `websocket.sync` option shares them across `--workers` and hosts).
 */
import { csrf } from '../../middleware/csrf/index.js';
import { getSession } from '../../middleware/session/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { webSocket } from '../../middleware/websocket/index.js';
import { type Application, type Environ, escapeHTML, HTTPError } from '../../src/index.js';

/** Renders a page in the demo's style. */
type Page = (title: string, body: string, status?: number) => Response;

/** The topic every socket of the chat subscribes to. */
const ROOM = 'live';
/** The longest message kept, in characters; longer ones are cut. */
const MAX_TEXT = 500;

/**
 * The page's policy: its script and stylesheet come from this origin, its socket goes to this
 * origin (`connect-src 'self'` covers `ws:`/`wss:` to the same host), nothing inline runs.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The name this session's messages go under: its signed-in user, else a guest name it keeps. */
async function nameOf(environ: Environ): Promise<string> {
  const s = await getSession<{ user: string; guest: string }>(environ);
  const user = s.get('user');
  if (user) return user;
  let guest = s.get('guest');
  if (!guest) {
    guest = `guest-${crypto.randomUUID().slice(0, 4)}`;
    s.set('guest', guest);
  }
  return guest;
}

/** One chat line as the page reads it: `from` is absent for the room's own notices. */
const line = (text: string, from?: string): string => JSON.stringify({ from, text });

/** The socket: every message goes to the sender and, published, to every other peer. */
const socket = webSocket(
  async (_request, environ) => {
    const name = await nameOf(environ);
    return {
      open(peer) {
        peer.subscribe(ROOM);
        peer.publish(ROOM, line(`${name} joined`));
      },
      message(peer, message) {
        const text = message.text().trim().slice(0, MAX_TEXT);
        if (!text) return;
        const said = line(text, name);
        peer.send(said);
        peer.publish(ROOM, said);
      },
      close(peer) {
        peer.publish(ROOM, line(`${name} left`));
      },
    };
  },
  { maxPayload: 4096 }, // bytes: a larger message closes the socket with 1009
);

/** The page: a status line, the messages, a form; `public/live.js` drives it. */
function livePage(page: Page): Application {
  return async (_request, environ) => {
    if (environ.pathInfo !== '' && environ.pathInfo !== '/') throw new HTTPError(404);
    const name = escapeHTML(await nameOf(environ));
    const base = escapeHTML(environ.scriptName);
    const response = page(
      'Live',
      `<main id="live" data-socket="${base}/ws">
<h1>Live</h1>
<p>A chat over one WebSocket (<code>${base}/ws</code>), opened through the site's
<code>session</code> and <code>csrf</code>. You write as <strong id="me">${name}</strong>
(<a href="/account/">sign in</a> to change it). Restart the server: the page reconnects.</p>
<p>Socket: <output id="status" data-state="connecting">connecting…</output></p>
<ul id="messages"></ul>
<form id="say"><input name="text" maxlength="${MAX_TEXT}" autocomplete="off" required aria-label="Message">
<button name="send" disabled>Send</button></form>
<p><a href="/">Home</a></p>
</main>
<script src="/static/live.js" defer></script>`,
    );
    response.headers.set('content-security-policy', CSP);
    response.headers.set('cache-control', 'no-store');
    return response;
  };
}

/** The live page and its socket, behind csrf(); mounted at `/live`. */
export function liveApp(page: Page): Application {
  return csrf()(urlmap({ '/ws': socket, '/': livePage(page) }));
}
