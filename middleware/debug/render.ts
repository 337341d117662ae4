/**
 * The debugger's traceback in its three forms: the HTML page (its CSS and script are the real
 * files page.css and page.js), JSON and plain text. Every value is escaped.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { escapeHTML } from '../../src/http-error.js';
import { preferredMediaType } from '../../src/negotiation.js';
import { FastResponse } from '../../src/response.js';
import { recentBlocks } from '../_shared/blocks.js';
import { PAGE_STYLE, pageCSP, SECURITY_HEADERS, scriptJSON } from '../_shared/dev-page.js';
import { type ErrorReport, type Frame, formatText } from '../_shared/stack.js';
import type { CapturedFrame } from './capture.js';

export { SECURITY_HEADERS } from '../_shared/dev-page.js';

/** Everything the traceback page shows. */
export interface Traceback {
  id: string;
  report: ErrorReport;
  /** Per app frame (in stack order), the captured locals; `undefined`: none captured. */
  locals: (CapturedFrame | undefined)[];
  /**
   * Whether locals were being captured: `starting` means from the next error on; `off` that
   * `capture: false` turned it off; otherwise the runtime that cannot capture (`'Deno'`, `'Bun'`).
   */
  capture: 'on' | 'starting' | 'off' | 'Deno' | 'Bun';
  request: { method: string; url: string; headers: [string, string][] };
  environ: Record<string, string>;
}

const REDACTED = new Set(['cookie', 'authorization', 'set-cookie', 'proxy-authorization']);

/** The request headers to show, with credentials redacted. */
export function redactHeaders(headers: Headers): [string, string][] {
  return [...headers].map(([name, value]) => [name, REDACTED.has(name) ? '[redacted]' : value]);
}

/** util.inspect previews of a frame's locals. */
export function previews(locals: Record<string, unknown>): [string, string][] {
  return Object.entries(locals).map(([name, value]) => [
    name,
    inspect(value, { depth: 2, maxArrayLength: 20, maxStringLength: 300, breakLength: 80 }),
  ]);
}

/** The traceback as JSON-ready data (only a browser that gave the PIN gets it). */
export function tracebackJSON(t: Traceback) {
  return {
    id: t.id,
    capture: t.capture,
    error: t.report,
    locals: t.locals.map((frame) => (frame ? Object.fromEntries(previews(frame.locals)) : null)),
    request: t.request,
    environ: t.environ,
    text: formatText(t.report),
  };
}

/** The page's script, a real file beside this one, read once (its stylesheet is shared). */
const STYLE = PAGE_STYLE;
const SCRIPT = readFileSync(new URL('./page.js', import.meta.url), 'utf8');

/**
 * One frame: its code, its locals (`null`: a frame of a cause or member, which has none),
 * and, for an app frame, its console — output above the input, oldest first, as a terminal.
 */
function frameHTML(
  frame: Frame,
  index: number,
  captured: CapturedFrame | undefined | null,
  open: boolean,
  capturing: boolean,
): string {
  const loc = `${frame.file}:${frame.line}:${frame.column}`;
  const code = frame.context
    ? `<pre class="code">${frame.context.lines
        .map((text, i) => {
          const number = frame.context!.start + i;
          return `<span${number === frame.line ? ' class="hit"' : ''}><i>${number}</i>${escapeHTML(text)}</span>`;
        })
        .join('')}</pre>`
    : '';
  let vars = '';
  if (captured === null || !capturing) {
    // no capture for this error: the page's note says why, once
  } else if (captured && Object.keys(captured.locals).length) {
    vars = `<table class="vars">${previews(captured.locals)
      .map(([name, value]) => `<tr><td>${escapeHTML(name)}</td><td>${escapeHTML(value)}</td></tr>`)
      .join('')}</table>`;
  } else if (frame.kind === 'app') {
    vars = `<p class="note">No local variables were captured for this frame: it was suspended at an <code>await</code> (only frames running after their last await have scopes), or capture was rate-limited.</p>`;
  }
  const consoleForm =
    captured === null
      ? ''
      : `<div class="outputs"></div><form class="console" data-frame="${index}"><input name="expression" placeholder="evaluate in this frame: ${capturing ? 'locals, ' : ''}$err, $request, $environ — await works" autocomplete="off"><button>Run</button></form>`;
  return `<details class="frame ${frame.kind}"${open ? ' open' : ''}><summary><span class="fn">${escapeHTML(frame.name)}</span><span class="loc">${escapeHTML(loc)}</span></summary>${code}${vars}${consoleForm}</details>`;
}

function reportHTML(
  report: ErrorReport,
  locals: (CapturedFrame | undefined)[] | null,
  offset: { app: number },
  capturing = false,
): string {
  return report.frames
    .map((frame) => {
      if (frame.kind !== 'app' || !locals) return frameHTML(frame, -1, null, false, capturing);
      const index = offset.app++;
      return frameHTML(frame, index, locals[index], true, capturing);
    })
    .join('\n');
}

/** What the page says about locals, above the traceback, when not every frame can have them. */
function captureNote(capture: Traceback['capture']): string {
  if (capture === 'on') return '';
  const text =
    capture === 'starting'
      ? 'Local variables are captured from the next error on (the inspector, which slows requests, was off until now): make the error happen again to see them. Under <code>NODE_ENV=development</code> or <code>mortar serve --reload</code> they are captured from the first.'
      : capture === 'off'
        ? 'Local variables are not captured (<code>capture: false</code>); the console evaluates with <code>$err</code>, <code>$request</code> and <code>$environ</code>.'
        : `Local variables are not captured on ${capture}: that needs Node's inspector. The console evaluates with <code>$err</code>, <code>$request</code> and <code>$environ</code>.`;
  return `<p class="note capture">${text}</p>`;
}

/** The event-loop blocks blockWatch() saw lately (none without it), beside the error. */
function blocksHTML(): string {
  const blocks = recentBlocks();
  if (blocks.length === 0) return '';
  const rows = blocks.map((block) => {
    const request = block.request
      ? `${block.request.method} ${block.request.path}${block.request.id ? ` (id ${block.request.id})` : ''}`
      : 'no request';
    const time = new Date(block.time).toISOString().slice(11, 23);
    return `<tr><td>${time} · ${block.duration} ms</td><td>${escapeHTML(request)} ${escapeHTML(block.where)}</td></tr>`;
  });
  return `<h2>Recent event-loop blocks <span class="note">(blockWatch(), newest first)</span></h2>
<table class="vars blocks">${rows.join('')}</table>`;
}

/** The traceback page, for a browser that gave the PIN: locals, and a console per app frame. */
export function tracebackHTML(
  t: Traceback,
  options: { nonce: string; token: string; base: string },
): string {
  const { report } = t;
  const first = report.frames.find((f) => f.kind === 'app') ?? report.frames[0];
  const offset = { app: 0 };
  let chain = '';
  for (const [i, member] of (report.errors ?? []).entries()) {
    chain += `<h2 class="chain">AggregateError member ${i + 1}: ${escapeHTML(member.name)}: ${escapeHTML(member.message)}</h2>${reportHTML(member, null, offset)}`;
  }
  for (let cause = report.cause; cause; cause = cause.cause) {
    chain += `<h2 class="chain">Caused by ${escapeHTML(cause.name)}: ${escapeHTML(cause.message)}</h2>${reportHTML(cause, null, offset)}`;
  }
  const rows = (pairs: [string, string][]) =>
    `<table class="vars">${pairs.map(([k, v]) => `<tr><td>${escapeHTML(k)}</td><td>${escapeHTML(v)}</td></tr>`).join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(`${report.name}: ${report.message}`)}</title>
<style nonce="${options.nonce}">${STYLE}</style></head>
<body>
<header><div class="kind"><b>${escapeHTML(report.name)}</b> · ${escapeHTML(t.request.method)} ${escapeHTML(t.request.url)}</div>
<h1>${escapeHTML(report.message)}</h1>
<div class="where">${first ? escapeHTML(`${first.file}:${first.line}:${first.column}`) : ''}</div></header>
<main>
${captureNote(t.capture)}
<h2>Traceback <span class="note">(most recent call first)</span></h2>
${reportHTML(report, t.locals, offset, t.capture === 'on')}
${chain}
${blocksHTML()}
<h2>Request</h2>
${rows([['method', t.request.method], ['url', t.request.url], ...t.request.headers])}
<h2>Environ</h2>
${rows(Object.entries(t.environ))}
<h2>Plain text</h2>
<textarea class="text" readonly>${escapeHTML(formatText(report))}</textarea>
</main>
<footer>mortar debug · error ${escapeHTML(t.id)} · never enable this in production</footer>
<script type="application/json" id="mortar-debug">${scriptJSON({ base: options.base, id: t.id, token: options.token })}</script>
<script nonce="${options.nonce}">${SCRIPT}</script>
</body></html>
`;
}

/** A 500 of the debugger's in the form `Accept` prefers, each form made only when chosen. */
function respond(
  request: Request,
  id: string,
  forms: { text: () => string; html: (nonce: string) => string; json: () => unknown },
): Response {
  const type =
    preferredMediaType(request.headers.get('accept'), [
      'text/plain',
      'text/html',
      'application/json',
    ] as const) ?? 'text/plain';
  const headers: Record<string, string> = { ...SECURITY_HEADERS, vary: 'Accept', 'x-error-id': id };
  if (type === 'application/json') {
    return new FastResponse(JSON.stringify(forms.json()), {
      status: 500,
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    });
  }
  if (type === 'text/plain') {
    return new FastResponse(forms.text(), {
      status: 500,
      headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  const nonce = randomBytes(16).toString('base64');
  return new FastResponse(forms.html(nonce), {
    status: 500,
    headers: {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': pageCSP(nonce),
    },
  });
}

/**
 * The traceback as a 500 in the form `Accept` prefers: plain text, the HTML page (with a nonce
 * CSP and `frame-ancestors 'none'`) or JSON. Only for a browser that gave the PIN.
 *
 * @param options.base - The console endpoint's path, `{scriptName}/__debug__`.
 * @param options.token - The console token the page sends with each evaluation.
 */
export function tracebackResponse(
  request: Request,
  traceback: Traceback,
  options: { base: string; token: string },
): Response {
  return respond(request, traceback.id, {
    text: () => formatText(traceback.report),
    json: () => tracebackJSON(traceback),
    html: (nonce) => tracebackHTML(traceback, { ...options, nonce }),
  });
}

/** What the plain page says to whoever has not given the PIN (a visitor through a proxy too). */
export function lockedMessage(id: string): string {
  return `Something went wrong on our side. Error id: ${id}. The debugger shows its traceback to a browser that gives the PIN printed in the terminal running this server.`;
}

/**
 * The plain 500 for a request without the PIN cookie: the error id and where the PIN is — no
 * message, source, request or environ — and, in HTML, a PIN form that, once right, opens the
 * traceback at `{base}/error/{id}` (no re-submitting a POST).
 *
 * @param base - The console endpoint's path, `{scriptName}/__debug__`.
 */
export function lockedResponse(request: Request, id: string, base: string): Response {
  const message = lockedMessage(id);
  return respond(request, id, {
    text: () => `500 Internal Server Error\n\n${message}\n`,
    json: () => ({ status: 500, error: 'Internal Server Error', message }),
    html: (nonce) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>500 Internal Server Error</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body>
<header><h1>500 Internal Server Error</h1></header>
<main>
<p>${escapeHTML(message)}</p>
<form class="pin"><span>PIN:</span><input name="pin" inputmode="numeric" autocomplete="off" aria-label="PIN"><button>Show the traceback</button><span class="note" role="status"></span></form>
</main>
<script type="application/json" id="mortar-debug">${scriptJSON({ base, id, token: null })}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`,
  });
}
