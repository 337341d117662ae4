/**
 * The profiles' index under `{scriptName}{path}`: `GET /` the list (newest first) with the
 * chosen profile's heaviest functions and flame chart, `GET /file/{name}` a profile's file,
 * `POST /pin` debug()'s PIN. Every page under the development pages' headers and CSP; the
 * chart is drawn by page.js, inline under the page's nonce, from the file fetched from here.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { escapeHTML } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import type { Environ } from '../../src/types.js';
import { PAGE_STYLE, pageCSP, SECURITY_HEADERS, scriptJSON } from '../_shared/dev-page.js';
import type { PinGate } from '../_shared/pin.js';
import { pinRequest } from '../_shared/pin-endpoint.js';
import type { ProfileEntry, ProfileStore } from './store.js';
import type { HeavyFunction } from './summary.js';

const STYLE = PAGE_STYLE + readFileSync(new URL('./page.css', import.meta.url), 'utf8');
const SCRIPT = readFileSync(new URL('./page.js', import.meta.url), 'utf8');

/** The handler of the index's paths. */
export function profilePages(store: ProfileStore, pin: PinGate, log: (line: string) => void) {
  let pinShown = false;
  return async (request: Request, environ: Environ, base: string): Promise<Response> => {
    const below = environ.pathInfo.slice(base.length);
    const prefix = environ.scriptName + base;
    if (below === '/pin') return pinRequest(request, environ.scriptName, pin);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return text(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    }
    if (below === '') return text(308, '', { location: `${prefix}/` });
    if (!pin.unlocked(request)) {
      if (!pinShown) {
        pinShown = true;
        log(
          `mortar profile: the PIN is ${pin.pin} (give it once in a browser to see the profiles)`,
        );
      }
      return page(200, 'Profiles: PIN', lockedBody(), { base: prefix });
    }
    if (below.startsWith('/file/')) return download(store, decodeURIComponent(below.slice(6)));
    if (below !== '/') return text(404, 'Not Found');
    const entries = await store.list();
    const wanted = new URL(request.url).searchParams.get('p');
    const chosen = entries.find((entry) => entry.name === wanted) ?? entries[0];
    const heavy = chosen ? await store.heaviest(chosen.name) : undefined;
    return page(200, 'Profiles', indexBody(entries, chosen, heavy, prefix), {
      base: prefix,
      chosen: chosen ? `${prefix}/file/${encodeURIComponent(chosen.name)}` : null,
    });
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new FastResponse(body, {
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', ...headers },
  });
}

/** A profile's file, as a download. */
async function download(store: ProfileStore, name: string): Promise<Response> {
  const file = store.file(name);
  if (!file) return text(404, 'Not Found');
  try {
    return new FastResponse(await readFile(file), {
      headers: {
        ...SECURITY_HEADERS,
        'content-type': 'application/json',
        'content-disposition': `attachment; filename="${name}"`,
      },
    });
  } catch {
    return text(404, 'Not Found');
  }
}

/** A page with the shared style, the page's script, and its settings. */
function page(status: number, title: string, body: string, settings: object): Response {
  const nonce = randomBytes(16).toString('base64');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title)}</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body>
${body}
<footer>mortar profile · never enable this in production</footer>
<script type="application/json" id="mortar-profile">${scriptJSON(settings)}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`;
  return new FastResponse(html, {
    status,
    headers: {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': pageCSP(nonce),
    },
  });
}

function lockedBody(): string {
  return `<header><h1>Profiles</h1></header>
<main>
<p>The profiles show your code: give the PIN printed in the terminal running this server (debug()'s PIN).</p>
<form class="pin"><span>PIN:</span><input name="pin" inputmode="numeric" autocomplete="off" aria-label="PIN"><button>Show the profiles</button><span class="note" role="status"></span></form>
</main>`;
}

const when = (time: number) => new Date(time).toISOString().replace('T', ' ').slice(0, 23);

function indexBody(
  entries: readonly ProfileEntry[],
  chosen: ProfileEntry | undefined,
  heavy: readonly HeavyFunction[] | undefined,
  prefix: string,
): string {
  if (!chosen) {
    return `<header><h1>Profiles</h1></header><main><p class="note">No profile yet: make a request that profile() chooses.</p></main>`;
  }
  const rows = entries
    .map((entry) => {
      const link = `${prefix}/?p=${encodeURIComponent(entry.name)}`;
      const file = `${prefix}/file/${encodeURIComponent(entry.name)}`;
      const mark = entry === chosen ? ' class="chosen"' : '';
      return `<tr${mark}><td>${escapeHTML(when(entry.time))}</td><td><a href="${escapeHTML(link)}">${escapeHTML(`${entry.method} ${entry.path}`)}</a></td><td>${escapeHTML(entry.status)}</td><td class="ms">${entry.duration} ms</td><td><a href="${escapeHTML(file)}" download>download</a></td></tr>`;
    })
    .join('\n');
  const functions = (heavy ?? [])
    .map(
      (f) =>
        `<tr><td class="ms">${f.self.toFixed(1)} ms</td><td class="fn">${escapeHTML(f.name)}</td><td class="loc">${escapeHTML(f.file ? `${f.file}:${f.line}:${f.column}` : '')}</td></tr>`,
    )
    .join('\n');
  return `<header><div class="kind"><b>Profile</b> · ${escapeHTML(when(chosen.time))}</div>
<h1>${escapeHTML(`${chosen.method} ${chosen.path}`)} — ${chosen.duration} ms</h1>
<div class="where">${escapeHTML(chosen.name)}</div></header>
<main>
<h2>Flame chart <span class="note">(time left to right, callers above callees; hover for details)</span></h2>
<div class="flame"><canvas width="1000" height="300"></canvas><div class="tip" role="status"></div></div>
<h2>Heaviest functions <span class="note">(self time)</span></h2>
<table class="vars heavy">${functions}</table>
<h2>Profiles <span class="note">(newest first; profiled requests run one at a time, as a profile covers the whole process; open a download in Chrome DevTools' Performance panel or speedscope)</span></h2>
<table class="vars profiles">${rows}</table>
</main>`;
}
