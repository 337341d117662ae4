/**
 * The debugger's pages: the traceback (HTML), its JSON and text forms, and the plain error
 * page of `errors()`. Every value is escaped.
 */
import { inspect } from 'node:util';
import { escapeHTML } from '../../src/http-error.js';
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

/** The traceback as JSON-ready data. */
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

const STYLE = `
:root { --bg:#fbfaf8; --fg:#1d1d1f; --muted:#6b6b70; --line:#e6e3de; --accent:#b4532a; --code:#f4f1ec; --hl:#fde8dc; --ok:#256d3a; --bad:#a3261b; }
@media (prefers-color-scheme: dark) { :root { --bg:#161618; --fg:#ececef; --muted:#9a9aa2; --line:#2c2c30; --code:#1f1f23; --hl:#4a2a1c; --ok:#7fd49a; --bad:#ff8a7a; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif; }
header { padding:28px 32px 20px; border-bottom:1px solid var(--line); background:linear-gradient(180deg, color-mix(in srgb, var(--accent) 10%, transparent), transparent); }
header .kind { color:var(--muted); font-size:13px; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; }
header .kind b { color:var(--accent); font-family:system-ui,sans-serif; letter-spacing:.04em; text-transform:uppercase; font-size:12px; }
header h1 { margin:6px 0 4px; font-size:24px; line-height:1.3; word-break:break-word; }
header .where { color:var(--muted); font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:13px; }
main { padding:8px 32px 48px; max-width:1100px; }
h2 { font-size:14px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); margin:28px 0 10px; }
h2.chain { color:var(--accent); }
details.frame { border:1px solid var(--line); border-radius:8px; margin:8px 0; background:color-mix(in srgb, var(--bg) 70%, var(--code)); }
details.frame > summary { cursor:pointer; padding:8px 12px; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:13px; display:flex; gap:12px; align-items:baseline; }
details.frame > summary .fn { font-weight:600; }
details.frame > summary .loc { color:var(--muted); overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
details.frame.library > summary, details.frame.internal > summary { opacity:.65; }
pre.code { margin:0; padding:8px 0; background:var(--code); overflow-x:auto; font:12.5px/1.55 ui-monospace,SFMono-Regular,Menlo,monospace; }
pre.code span { display:block; padding:0 12px; white-space:pre; }
pre.code span.hit { background:var(--hl); }
pre.code i { font-style:normal; color:var(--muted); display:inline-block; min-width:3.5em; user-select:none; }
table.vars { width:100%; border-collapse:collapse; font:12.5px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace; }
table.vars td { border-top:1px solid var(--line); padding:4px 12px; vertical-align:top; white-space:pre-wrap; word-break:break-word; }
table.vars td:first-child { width:22%; color:var(--accent); }
.note { color:var(--muted); font-size:13px; padding:6px 12px; }
form.console { display:flex; gap:8px; padding:8px 12px 12px; }
form.console input { flex:1; font:13px ui-monospace,SFMono-Regular,Menlo,monospace; padding:6px 8px; border:1px solid var(--line); border-radius:6px; background:var(--bg); color:var(--fg); }
form.console button, form.pin button { border:0; border-radius:6px; padding:6px 12px; background:var(--accent); color:#fff; font-weight:600; cursor:pointer; }
pre.out { margin:0 12px 12px; padding:8px; border-radius:6px; background:var(--code); font:12.5px ui-monospace,monospace; white-space:pre-wrap; }
pre.out.ok { border-left:3px solid var(--ok); } pre.out.bad { border-left:3px solid var(--bad); }
form.pin { margin:16px 0; padding:12px; border:1px dashed var(--accent); border-radius:8px; display:flex; gap:8px; align-items:center; }
form.pin input { font:15px ui-monospace,monospace; padding:6px 8px; width:10em; }
textarea.text { width:100%; min-height:12em; font:12px ui-monospace,monospace; background:var(--code); color:var(--fg); border:1px solid var(--line); border-radius:8px; padding:10px; }
footer { color:var(--muted); font-size:12px; padding:0 32px 32px; }
`;

function frameHTML(
  frame: Frame,
  index: number,
  captured: CapturedFrame | undefined | null,
  open: boolean,
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
  else if (captured && Object.keys(captured.locals).length) {
    vars = `<table class="vars">${previews(captured.locals)
      .map(([name, value]) => `<tr><td>${escapeHTML(name)}</td><td>${escapeHTML(value)}</td></tr>`)
      .join('')}</table>`;
  } else if (frame.kind === 'app') {
    vars = `<p class="note">No local variables were captured for this frame: it was suspended at an <code>await</code> (only frames running after their last await have scopes), or capture was rate-limited.</p>`;
  }
  const consoleForm =
    captured === null
      ? ''
      : `<form class="console" data-frame="${index}"><input name="expression" placeholder="evaluate in this frame: locals, $err, $request, $environ — await works" autocomplete="off"><button>Run</button></form><div class="outputs"></div>`;
  return `<details class="frame ${frame.kind}"${open ? ' open' : ''}><summary><span class="fn">${escapeHTML(frame.name)}</span><span class="loc">${escapeHTML(loc)}</span></summary>${code}${vars}${consoleForm}</details>`;
}

function reportHTML(
  report: ErrorReport,
  locals: (CapturedFrame | undefined)[] | null,
  offset: { app: number },
): string {
  return report.frames
    .map((frame) => {
      if (frame.kind !== 'app' || !locals) return frameHTML(frame, -1, null, false);
      const index = offset.app++;
      return frameHTML(frame, index, locals[index], true);
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
${reportHTML(report, t.locals, offset)}
${chain}
<h2>Request</h2>
${rows([['method', t.request.method], ['url', t.request.url], ...t.request.headers])}
<h2>Environ</h2>
${rows(Object.entries(t.environ))}
<h2>Plain text</h2>
<textarea class="text" readonly>${escapeHTML(formatText(report))}</textarea>
</main>
<footer>mortar debug · error ${escapeHTML(t.id)} · never enable this in production</footer>
<script nonce="${options.nonce}">
const post = (path, body) => fetch(${JSON.stringify(options.base)} + path, {
  method: 'POST',
  credentials: 'same-origin',
  headers: { 'content-type': 'application/json', 'x-mortar-debug-token': ${JSON.stringify(options.token)} },
  body: JSON.stringify(body),
});
const pinForm = document.querySelector('form.pin');
pinForm?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await post('/pin', { pin: pinForm.elements.pin.value });
  const result = await response.json();
  if (result.ok) pinForm.remove();
  else pinForm.querySelector('[role=status]').textContent = result.text;
});
for (const form of document.querySelectorAll('form.console')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = form.elements.expression;
    const out = document.createElement('pre');
    out.className = 'out';
    out.textContent = '…';
    form.nextElementSibling.prepend(out);
    try {
      const response = await post('/console', { id: ${JSON.stringify(t.id)}, frame: Number(form.dataset.frame), expression: input.value });
      const result = await response.json();
      out.className = 'out ' + (result.ok ? 'ok' : 'bad');
      out.textContent = '> ' + input.value + '\\n' + result.text;
    } catch (error) {
      out.className = 'out bad';
      out.textContent = String(error);
    }
  });
}
</script>
</body></html>
`;
}
