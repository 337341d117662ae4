/**
 * `npm run bench:access-log`: what an access log costs a hello world in requests per second,
 * measured in pairs (see `measurePaired`): each round loads the server without the log and the
 * one with it back to back and takes their ratio; the median and quartiles are reported.
 * mortar's `accessLog` against `serve(hello)`, and the anchor — Express's `morgan` — against
 * bare `node:http` in the same run, both writing Combined lines to a discarded stream; and the
 * floor: mortar's line and writer called straight from a node:http handler, no middleware,
 * and below it the id echoed and a line made in advance written (formatting at no cost). The
 * issue's target is a cost ≤ 5 %.
 *
 * Environment: BENCH_ROUNDS (default 16), BENCH_BURST seconds per load (default 1),
 * BENCH_CONNECTIONS (default 50). wrk when installed, pinned to its own core as in bench:http.
 */
import { loader, measurePaired, type PairedSample, quartiles, startServer } from './lib.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 16);
const burst = Number(process.env.BENCH_BURST ?? 1);
/** Each case: the server without the log, and with it. */
const cases = [
  {
    label: 'mortar accessLog(hello), Combined lines batched to /dev/null',
    base: 'mortar',
    logged: 'mortar-logged',
  },
  {
    label: 'mortar accessLog(hello), no line made (the mechanism alone)',
    base: 'mortar',
    logged: 'mortar-logged-noop',
  },
  {
    label: "mortar's Combined line and batchedWriter alone, on node:http hello (the floor)",
    base: 'bare',
    logged: 'bare-line',
  },
  {
    label: 'the id echoed and a line made in advance, on node:http hello (below the floor)',
    base: 'bare',
    logged: 'bare-constant-line',
  },
  {
    label: "morgan('combined') on node:http hello, to /dev/null (the anchor)",
    base: 'bare',
    logged: 'bare-morgan',
  },
];

const servers = new URL('./servers.ts', import.meta.url);
const names = [...new Set(cases.flatMap((c) => [c.base, c.logged]))];
const running = new Map(
  await Promise.all(
    names.map(async (name) => [name, await startServer(servers, name, {}, [], true)] as const),
  ),
);
const url = (name: string) => `${running.get(name)!.url}/`;
const results: PairedSample[][] = [];
try {
  for (const c of cases)
    results.push(await measurePaired(url(c.base), url(c.logged), rounds, burst));
} finally {
  for (const { child } of running.values()) child.kill();
}

console.log(
  `\n${rounds} rounds × ${burst} s a side, ${loader}, Node ${process.version}: req/s with the log against without it, in the same round\n`,
);
console.log('| case | req/s cost (median) | quartiles | time added a request (median) |');
console.log('|---|---:|---:|---:|');
const percent = (ratio: number) => `${((1 - ratio) * 100).toFixed(1)} %`;
for (const [index, c] of cases.entries()) {
  const { low, median, high } = quartiles(results[index]!.map((s) => s.ratio));
  const added = quartiles(results[index]!.map((s) => s.addedMicroseconds)).median;
  console.log(
    `| ${c.label} | ${percent(median)} | ${percent(high)} … ${percent(low)} | ${added.toFixed(2)} µs |`,
  );
}
console.log('\ntarget: mortar with Combined lines ≤ 5 %');
