/**
 * `npm run bench:block-watch`: what `blockWatch()` costs hello in requests per second when
 * nothing blocks, measured in pairs (see `measurePaired`): per round, hello alone and hello
 * under the watchdog back to back, their ratio taken; the median and quartiles reported. The
 * AsyncLocalStorage alone (the request's context, without the heartbeat and the worker's
 * enabled debugger) splits the cost. The target is ≤ 2 %.
 *
 * On a loaded machine req/s swings more than the cost; the server's CPU time per request
 * (utime + stime from /proc, per load) swings less, and is reported beside it, paired the
 * same way.
 *
 * Environment: BENCH_ROUNDS (default 16), BENCH_BURST seconds per load (default 1),
 * BENCH_CONNECTIONS (default 50). wrk when installed, pinned to its own core as in bench:http.
 */
import { readFileSync } from 'node:fs';
import { load, loader, measurePaired, type PairedSample, quartiles, startServer } from '../lib.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 16);
const burst = Number(process.env.BENCH_BURST ?? 1);
const cases = [
  { label: 'blockWatch() on hello, no block', base: 'hello', target: 'watched' },
  { label: 'its AsyncLocalStorage alone', base: 'hello', target: 'storage-only' },
];

const servers = new URL('./servers.ts', import.meta.url);
const names = [...new Set(cases.flatMap((c) => [c.base, c.target]))];
const running = new Map(
  await Promise.all(names.map(async (name) => [name, await startServer(servers, name)] as const)),
);
const url = (name: string) => `${running.get(name)!.url}/`;
/**
 * CPU seconds a process and its descendants have used (utime + stime at 100 ticks a second):
 * the server runs in tsx's child process.
 */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = (Number(fields[11]) + Number(fields[12])) / 100;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children
    ? children.split(' ').reduce((sum, child) => sum + cpuSeconds(Number(child)), own)
    : own;
}

/** The server's CPU microseconds per request over one load of `burst` seconds. */
async function cpuPerRequest(name: string): Promise<number> {
  const pid = running.get(name)!.child.pid!;
  const before = cpuSeconds(pid);
  const { requests } = await load(url(name), burst);
  return ((cpuSeconds(pid) - before) * 1e6) / (requests * burst);
}

/** Per round, both servers' CPU per request (in alternating order), the target's over the base's. */
async function cpuPaired(base: string, target: string): Promise<number[]> {
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [base, target] : [target, base];
    const [first, second] = [await cpuPerRequest(order[0]!), await cpuPerRequest(order[1]!)];
    ratios.push(order[0] === base ? second / first : first / second);
  }
  return ratios;
}

const results: PairedSample[][] = [];
const cpu: number[][] = [];
try {
  for (const c of cases) {
    results.push(await measurePaired(url(c.base), url(c.target), rounds, burst));
    cpu.push(await cpuPaired(c.base, c.target));
  }
} finally {
  for (const { child } of running.values()) child.kill();
}

console.log(
  `\n${rounds} rounds × ${burst} s a side, ${loader}, Node ${process.version}: req/s with against without, in the same round\n`,
);
console.log(
  '| case | req/s cost (median) | quartiles | time added a request (median) | req/s cost from the server CPU a request (median) | quartiles |',
);
console.log('|---|---:|---:|---:|---:|---:|');
const percent = (ratio: number) => `${((1 - ratio) * 100).toFixed(1)} %`;
for (const [index, c] of cases.entries()) {
  const { low, median, high } = quartiles(results[index]!.map((s) => s.ratio));
  const added = quartiles(results[index]!.map((s) => s.addedMicroseconds)).median;
  const used = quartiles(cpu[index]!.map((ratio) => 1 / ratio));
  console.log(
    `| ${c.label} | ${percent(median)} | ${percent(high)} … ${percent(low)} | ${added.toFixed(2)} µs | ${percent(used.median)} | ${percent(used.high)} … ${percent(used.low)} |`,
  );
}
console.log('\ntarget: blockWatch() ≤ 2 %');
