/**
 * `npm run bench:access-log`: what `accessLog` costs `serve(hello)` in requests per second,
 * measured in pairs (see `measurePaired`): each round loads the plain server and a logged one
 * back to back and takes their ratio; the median and quartiles of the ratios are reported.
 * The target is a cost ≤ 5 % with Combined lines to a discarded stream.
 *
 * Environment: BENCH_ROUNDS (default 16), BENCH_BURST seconds per load (default 1),
 * BENCH_CONNECTIONS (default 50). wrk when installed, pinned to its own core as in bench:http.
 */
import { loader, measurePaired, quartiles, startServer } from './lib.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 16);
const burst = Number(process.env.BENCH_BURST ?? 1);
const cases = [
  { label: 'accessLog(hello), Combined lines batched to /dev/null', server: 'mortar-logged' },
  { label: 'accessLog(hello), no line made (the mechanism alone)', server: 'mortar-logged-noop' },
];

const servers = new URL('./servers.ts', import.meta.url);
const base = await startServer(servers, 'mortar');
const running = await Promise.all(cases.map((c) => startServer(servers, c.server)));
let ratios: number[][];
try {
  ratios = await measurePaired(
    `${base.url}/`,
    running.map((r) => `${r.url}/`),
    rounds,
    burst,
  );
} finally {
  for (const { child } of [base, ...running]) child.kill();
}

console.log(
  `\n${rounds} rounds × ${burst} s a side, ${loader}, Node ${process.version}: req/s against serve(hello) in the same round\n`,
);
console.log('| case | cost (median) | quartiles |');
console.log('|---|---:|---:|');
const percent = (ratio: number) => `${((1 - ratio) * 100).toFixed(1)} %`;
for (const [index, c] of cases.entries()) {
  const { low, median, high } = quartiles(ratios[index]!);
  console.log(`| ${c.label} | ${percent(median)} | ${percent(high)} … ${percent(low)} |`);
}
console.log('\ntarget: Combined lines ≤ 5 %');
