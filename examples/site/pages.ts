/**
 * The demo's pages that need nothing but the web platform, shared by the Node site
 * (`index.ts`) and the Workers one (`worker.ts`): a Hono API mounted unchanged, the home page,
 * `/where` (a page that shows its own `scriptName` and `pathInfo`) and the site's page style.
 */
import { Hono } from 'hono';
import { type Application, escapeHTML, FastResponse } from '../../src/index.js';

/** A Hono application, mounted at `/api` unchanged (any fetch handler is an Application). */
export const api = new Hono();
api.get('/', (c) => c.json({ name: 'mortar demo api', routes: ['/time', '/echo/:word'] }));
api.get('/time', (c) => c.json({ now: new Date().toISOString() }));
api.get('/echo/:word', (c) => c.json({ word: c.req.param('word'), url: c.req.url }));

/** A page in the site's style. */
export const page = (title: string, body: string, status = 200): Response =>
  new FastResponse(
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHTML(title)}</title>
<link rel="stylesheet" href="/static/site.css"><link rel="icon" href="/favicon.svg"></head>
<body>${body}</body></html>
`,
    { status, headers: { 'content-type': 'text/html; charset=utf-8' } },
  );

/** The home page: every route of the demo, linked. */
export const home: Application = (request, environ) => {
  if (environ.pathInfo !== '/' && environ.pathInfo !== '') {
    const home = `${escapeHTML(environ.scriptName)}/`;
    return page('Not found', `<h1>Not found</h1><p><a href="${home}">Home</a></p>`, 404);
  }
  const base = escapeHTML(environ.scriptName);
  return page(
    'mortar demo',
    `<h1>mortar demo</h1>
<p>Every link below is a different application, mounted with <code>urlmap</code> and wrapped by
<code>helloWorld</code>.</p>
<ul>
  <li><a href="${base}/hello">/hello</a> — answered by <code>helloWorld</code> itself</li>
  <li><a href="${base}/api">/api</a> — a Hono app, mounted unchanged
    (<a href="${base}/api/time">/api/time</a>, <a href="${base}/api/echo/mortar">/api/echo/mortar</a>)</li>
  <li><a href="${base}/where/some/path?x=1">/where/some/path</a> — shows its <code>scriptName</code> and <code>pathInfo</code></li>
  <li><a href="${base}/nested/where/deeper">/nested/where/deeper</a> — the same page mounted two levels down</li>
  <li><a href="${base}/static/">/static/</a> — files served by <code>serveStatic</code> (with a listing;
    <a href="${base}/static/about.txt">about.txt</a>, <a href="${base}/static/site.css">site.css</a>, precompressed)</li>
  <li><a href="${base}/favicon.svg">/favicon.svg</a> — one file, served by <code>fileApp</code></li>
  <li>Errors, shown by <code>debug</code>: <a href="${base}/boom/sync">sync</a>, <a href="${base}/boom/async">async</a>,
    <a href="${base}/boom/cause">with a cause</a>, <a href="${base}/boom/aggregate">AggregateError</a>,
    <a href="${base}/boom/library">from inside a library</a></li>
  <li><a href="${base}/legacy/">/legacy/</a> — an Express app mounted with <code>fromNodeHandler</code>
    (a form POST, a redirect, and a route that throws)</li>
  <li><a href="${base}/account/visits">/account/visits</a> — a visit counter in a <code>session</code>;
    <a href="${base}/account/">/account/</a> — sign in (the session is regenerated) and out</li>
  <li><a href="${base}/remote/">/remote/</a> — a service on another port, mounted with <code>proxy</code></li>
  <li><a href="${base}/slow/">/slow/</a> — a deliberately slow page: <code>blockWatch</code> names its line in the
    terminal; <a href="${base}/slow/?profile">/slow/?profile</a> profiles it, and
    <a href="${base}/__profile__/">/__profile__/</a> lists the profiles with a flame chart (development)</li>
  <li><a href="${base}/cached">/cached</a> — a page that takes 500 ms, behind <code>cache()</code>
    (see its <code>Cache-Status</code>)</li>
  <li><a href="${base}/live/">/live/</a> — a chat over a WebSocket, opened through <code>session</code> and
    <code>csrf</code> like any request; it reconnects by itself when the server restarts</li>
</ul>
<p>Request: <code>${escapeHTML(request.method)} ${escapeHTML(request.url)}</code></p>`,
  );
};

/** Shows the `scriptName`, `pathInfo`, URL, gateway and address this mount sees. */
export const where: Application = (request, environ) =>
  page(
    'scriptName and pathInfo',
    `<h1>Where am I?</h1>
<table>
  <tr><th>environ.scriptName</th><td><code>${escapeHTML(JSON.stringify(environ.scriptName))}</code></td></tr>
  <tr><th>environ.pathInfo</th><td><code>${escapeHTML(JSON.stringify(environ.pathInfo))}</code></td></tr>
  <tr><th>request.url</th><td><code>${escapeHTML(request.url)}</code></td></tr>
  <tr><th>environ.gateway</th><td><code>${escapeHTML(environ.gateway)}</code></td></tr>
  <tr><th>environ.remoteAddress</th><td><code>${escapeHTML(String(environ.remoteAddress))}</code></td></tr>
</table>
<p><a href="/">Home</a></p>`,
  );
