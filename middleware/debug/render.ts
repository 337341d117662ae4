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
import type { CapturedFrame } from './capture.js';
import { type ErrorReport, type Frame, formatText } from './stack.js';

/** Everything the traceback page shows. */
export interface Traceback {
  id: string;
  report: ErrorReport;
  /** Per app frame (in stack order), the captured locals; `undefined`: none captured. */
  locals: (CapturedFrame | undefined)[];
  /** Whether locals were being captured: `starting` means from the next error on. */
  capture: 'on' | 'starting' | 'off';
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

/** The traceback as JSON-ready data; the locals only once the PIN was given (`unlocked`). */
export function tracebackJSON(t: Traceback, unlocked: boolean) {
  return {
    id: t.id,
    capture: t.capture,
    error: t.report,
    locals: unlocked
      ? t.locals.map((frame) => (frame ? Object.fromEntries(previews(frame.locals)) : null))
      : null,
    request: t.request,
    environ: t.environ,
    text: formatText(t.report),
  };
}

/** The page's stylesheet and script, real files beside this one, read once. */
const STYLE = readFileSync(new URL('./page.css', import.meta.url), 'utf8');
const SCRIPT = readFileSync(new URL('./page.js', import.meta.url), 'utf8');

function frameHTML(
  frame: Frame,
  index: number,
  captured: CapturedFrame | undefined | null,
  open: boolean,
  unlocked: boolean,
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
  if (captured === null) vars = '';
  else if (!unlocked) {
    // Locals (and the console) only after the PIN: they may hold secrets the source does not.
    vars = `<div class="locked" data-frame="${index}"><p class="note">Enter the PIN to see this frame's local variables and evaluate in it.</p></div>`;
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
      : `<form class="console" data-frame="${index}"${unlocked ? '' : ' hidden'}><input name="expression" placeholder="evaluate in this frame: locals, $err, $request, $environ — await works" autocomplete="off"><button>Run</button></form><div class="outputs"></div>`;
  return `<details class="frame ${frame.kind}"${open ? ' open' : ''}><summary><span class="fn">${escapeHTML(frame.name)}</span><span class="loc">${escapeHTML(loc)}</span></summary>${code}${vars}${consoleForm}</details>`;
}

function reportHTML(
  report: ErrorReport,
  locals: (CapturedFrame | undefined)[] | null,
  offset: { app: number },
  unlocked = false,
): string {
  return report.frames
    .map((frame) => {
      if (frame.kind !== 'app' || !locals) return frameHTML(frame, -1, null, false, unlocked);
      const index = offset.app++;
      return frameHTML(frame, index, locals[index], true, unlocked);
    })
    .join('\n');
}

/** The traceback page. `unlocked`: the browser gave the PIN already. */
export function tracebackHTML(
  t: Traceback,
  options: { nonce: string; token: string; base: string; unlocked: boolean },
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
  const pin = options.unlocked
    ? ''
    : `<form class="pin"><span>The console needs the PIN printed in the server's terminal:</span><input name="pin" inputmode="numeric" autocomplete="off" aria-label="PIN"><button>Unlock</button><span class="note" role="status"></span></form>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(`${report.name}: ${report.message}`)}</title>
<style nonce="${options.nonce}">${STYLE}</style></head>
<body>
<header><div class="kind"><b>${escapeHTML(report.name)}</b> · ${escapeHTML(t.request.method)} ${escapeHTML(t.request.url)}</div>
<h1>${escapeHTML(report.message)}</h1>
<div class="where">${first ? escapeHTML(`${first.file}:${first.line}:${first.column}`) : ''}</div></header>
<main>
${pin}
${
  t.capture === 'starting'
    ? '<p class="note">Local variables are captured from the next error on (the inspector, which slows requests, was off until now): reload this page to see them.</p>'
    : ''
}
<h2>Traceback <span class="note">(most recent call first)</span></h2>
${reportHTML(report, t.locals, offset, options.unlocked)}
${chain}
<h2>Request</h2>
${rows([['method', t.request.method], ['url', t.request.url], ...t.request.headers])}
<h2>Environ</h2>
${rows(Object.entries(t.environ))}
<h2>Plain text</h2>
<textarea class="text" readonly>${escapeHTML(formatText(report))}</textarea>
</main>
<footer>mortar debug · error ${escapeHTML(t.id)} · never enable this in production</footer>
<script type="application/json" id="mortar-debug">${scriptJSON({ base: options.base, id: t.id, token: options.unlocked ? options.token : null })}</script>
<script nonce="${options.nonce}">${SCRIPT}</script>
</body></html>
`;
}

/** JSON for a `<script type="application/json">`: no `<` that could close the element. */
function scriptJSON(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Headers of every debugger response. */
export const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The traceback as a 500 in the form `Accept` prefers: plain text, the HTML page (with a nonce
 * CSP and `frame-ancestors 'none'`) or JSON.
 *
 * @param base - The console endpoint's path, `{scriptName}/__debug__`.
 * @param unlocked - The browser gave the PIN already.
 */
export function tracebackResponse(
  request: Request,
  traceback: Traceback,
  options: { base: string; token: string; unlocked: boolean },
): Response {
  const type =
    preferredMediaType(request.headers.get('accept'), [
      'text/plain',
      'text/html',
      'application/json',
    ] as const) ?? 'text/plain';
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    vary: 'Accept',
    'x-error-id': traceback.id,
  };
  if (type === 'application/json') {
    return new FastResponse(JSON.stringify(tracebackJSON(traceback, options.unlocked)), {
      status: 500,
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    });
  }
  if (type === 'text/plain') {
    return new FastResponse(formatText(traceback.report), {
      status: 500,
      headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  const nonce = randomBytes(16).toString('base64');
  return new FastResponse(tracebackHTML(traceback, { ...options, nonce }), {
    status: 500,
    headers: {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    },
  });
}
