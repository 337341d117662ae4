/**
 * `npm run bench:http`: HTTP throughput over loopback, each server in its own process, load from
 * wrk when it is installed (one thread, pinned to its own core: see ../lib.ts), else from
 * autocannon in this process. Runs are interleaved (every server once, then again) and the
 * median of `BENCH_RUNS` (default 3) is reported, as req/s and as a ratio of bare node:http;
 * then the in-process cost of the layers, without sockets (./layers.ts).
 *
 * Environment: BENCH_RUNS (default 3), BENCH_SECONDS per run (default 5),
 * BENCH_CONNECTIONS (default 50), BENCH_LOADER=autocannon to use autocannon even with wrk.
 */

import { layerCosts } from './layers.js';
import { connections, loader, measure, runs, seconds, startServer } from './lib.js';

interface Case {
  label: string;
  server: string;
  path: string;
}
const cases: Case[] = [
  { label: 'bare node:http hello (the limit)', server: 'bare', path: '/' },
  { label: 'mortar serve(hello)', server: 'mortar', path: '/' },
  { label: "mortar serve(urlmap({'/app': hello}))", server: 'mortar-mount', path: '/app/x' },
  { label: 'mortar 3 pass-through + helloWorld + urlmap', server: 'mortar-stack', path: '/app/x' },
  { label: 'Hono 3 middleware + route + mount', server: 'hono-stack', path: '/app/x' },
  {
    label: 'mortar accessLog(hello), Combined lines batched to /dev/null',
    server: 'mortar-logged',
    path: '/',
  },
  {
    label: 'mortar accessLog(hello), no line formatted (the mechanism alone)',
    server: 'mortar-logged-noop',
    path: '/',
  },
];

const servers = new URL('./servers.ts', import.meta.url);
const running = await Promise.all(cases.map((c) => startServer(servers, c.server)));
let medians: number[];
try {
  const results = await measure(cases.map((c, index) => running[index]!.url + c.path));
  medians = results.map((r) => r.requests);
} finally {
  for (const { child } of running) child.kill();
}

const bare = medians[0]!;
console.log(
  `\nmedian of ${runs} runs × ${seconds} s, ${connections} connections, ${loader}, Node ${process.version}\n`,
);
console.log('| case | req/s | × bare |');
console.log('|---|---:|---:|');
for (const [index, c] of cases.entries()) {
  console.log(
    `| ${c.label} | ${Math.round(medians[index]!)} | ${(medians[index]! / bare).toFixed(2)} |`,
  );
}
const [, plain, mounted, stack, hono, logged] = medians as [
  number,
  number,
  number,
  number,
  number,
  number,
];
console.log(`\nmounting costs ${((1 - mounted / plain) * 100).toFixed(1)} % (target ≤ 5 %)`);
console.log(`stack / Hono = ${(stack / hono).toFixed(2)} (target ≥ 1.0)`);
console.log(
  `the access log costs ${((1 - logged / plain) * 100).toFixed(1)} % (target ≤ 5 %; bench:access-log measures it in pairs, steadier)`,
);

console.log('\nin-process, no sockets (ns per request, median of 5 × 1e6 calls):');
for (const { label, ns } of layerCosts()) console.log(`  ${label}: ${ns.toFixed(0)} ns`);
