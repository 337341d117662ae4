/**
 * A deliberately slow page (mounted at /slow): it counts primes by trial division, on the
 * event loop, for a few hundred milliseconds. The terminal gets blockWatch()'s line naming
 * the request and `countPrimes` at its line here; `/slow/?profile` writes a CPU profile that
 * `/__profile__/` lists with `countPrimes` on top and draws as a flame chart.
 */
import { type Application, escapeHTML, FastResponse } from '../../src/index.js';

function isPrime(n: number): boolean {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n > 1;
}

function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n <= limit; n++) if (isPrime(n)) count++;
  return count;
}

export const slow: Application = (_request, environ) => {
  const start = performance.now();
  const count = countPrimes(600_000);
  const took = Math.round(performance.now() - start);
  const base = escapeHTML(environ.scriptName);
  return new FastResponse(
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A slow page</title>
<link rel="stylesheet" href="/static/site.css"></head>
<body><h1>A slow page</h1>
<p>${count} primes below 600 000, counted by trial division in ${took} ms — on the event
loop, so every other request waited. The terminal running the server has a
<code>mortar block-watch</code> line naming this request and the line of <code>countPrimes</code>.</p>
<p><a href="${base}/?profile">Profile this page</a>, then see it at <a href="/__profile__/">/__profile__/</a>
(the PIN is printed in the terminal).</p>
<p><a href="/">Home</a></p></body></html>
`,
    { headers: { 'content-type': 'text/html; charset=utf-8' } },
  );
};
