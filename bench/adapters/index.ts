/**
 * `npm run bench:adapters`: Express inside mortar and mortar inside Express, in one
 * interleaved run (medians of BENCH_RUNS), against Express on its own.
 * Targets: Express through fromNodeHandler under mortar serve ≥ 0.8× Express on bare
 * node:http; mortar's hello through toNodeHandler inside Express ≥ 1.0× Express's own hello.
 */
import { connections, loader, measure, runs, seconds, startServer } from '../lib.js';

const cases = [
  { label: 'Express hello on node:http', server: 'express', path: '/' },
  {
    label: 'Express hello mounted in mortar (fromNodeHandler)',
    server: 'express-in-mortar',
    path: '/x/',
  },
  {
    label: 'mortar hello inside Express (toNodeHandler)',
    server: 'mortar-in-express',
    path: '/m/',
  },
];
const script = new URL('./servers.ts', import.meta.url);
const running = await Promise.all(cases.map((c) => startServer(script, c.server)));
let medians: number[];
try {
  medians = (await measure(cases.map((c, i) => running[i]!.url + c.path))).map((r) => r.requests);
} finally {
  for (const { child } of running) child.kill();
}
const express = medians[0]!;
console.log(`\nmedian of ${runs} runs × ${seconds} s, ${connections} connections, ${loader}\n`);
console.log('| case | req/s | × Express |');
console.log('|---|---:|---:|');
for (const [i, c] of cases.entries()) {
  console.log(
    `| ${c.label} | ${Math.round(medians[i]!)} | ${(medians[i]! / express).toFixed(2)} |`,
  );
}
console.log('\ntargets: Express in mortar ≥ 0.80×; mortar in Express ≥ 1.00×');
