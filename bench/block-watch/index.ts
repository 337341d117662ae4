/**
 * `npm run bench:block-watch`: what `blockWatch()` costs hello in requests per second when
 * nothing blocks, on the Node that runs it (`PATH=<node dir>:$PATH npm run bench:block-watch`
 * for another), measured in pairs: per round, hello alone and hello under the watchdog loaded
 * back to back (the order alternating round to round), their ratio taken; the median and
 * quartiles of the ratios reported. Its request tracking alone (no heartbeat, no worker)
 * splits the cost; `storage: true` (the request in an AsyncLocalStorage) is what following
 * timers too would cost. The target is ≤ 2 %.
 *
 * On a loaded machine req/s swings more than the cost; the server's CPU time per request
 * (utime + stime from /proc, over the same loads) is reported beside it.
 *
 * Environment: BENCH_ROUNDS (default 16), BENCH_BURST seconds per load (default 1),
 * BENCH_CONNECTIONS (default 50). wrk when installed, pinned to its own core as in bench:http.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { asyncContextFrame } from '../../middleware/block-watch/track.js';
import { load, loader, quartiles, startServer } from '../lib.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 16);
const burst = Number(process.env.BENCH_BURST ?? 1);
const cases = [
  { label: 'blockWatch() on hello, no block', target: 'watched' },
  { label: 'its request tracking alone (the async stack)', target: 'tracking-only' },
  {
    label: `blockWatch({ storage: true }) (AsyncLocalStorage on ${asyncContextFrame ? 'async context frames' : 'promise hooks'})`,
    target: 'watched-storage',
  },
];

const servers = new URL('./servers.ts', import.meta.url);
const names = ['hello', ...cases.map((c) => c.target)];
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

/** One load of `burst` seconds: the server's req/s and CPU microseconds a request. */
async function measure(name: string): Promise<{ rate: number; cpu: number }> {
  const pid = running.get(name)!.child.pid!;
  const before = cpuSeconds(pid);
  const { requests } = await load(url(name), burst);
  return { rate: requests, cpu: ((cpuSeconds(pid) - before) * 1e6) / (requests * burst) };
}

/** Per round, hello and the target back to back (alternating order): the target's over hello's. */
async function paired(target: string): Promise<{ rate: number; cpu: number }[]> {
  const ratios: { rate: number; cpu: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['hello', target] : [target, 'hello'];
    const first = await measure(order[0]!);
    const second = await measure(order[1]!);
    const [base, with_] = order[0] === 'hello' ? [first, second] : [second, first];
    ratios.push({ rate: with_.rate / base.rate, cpu: with_.cpu / base.cpu });
  }
  return ratios;
}

const load1 = loadavg()[0]!.toFixed(2);
const results: { rate: number; cpu: number }[][] = [];
try {
  for (const name of names) await load(url(name), 1); // warm-up
  for (const c of cases) results.push(await paired(c.target));
} finally {
  for (const { child } of running.values()) child.kill();
}

console.log(
  `\n${rounds} rounds × ${burst} s a side, ${loader}, Node ${process.version}, load average ${load1} → ${loadavg()[0]!.toFixed(2)}: hello with ÷ hello without, in the same round\n`,
);
console.log(
  '| case | req/s ratio (median) | quartiles | req/s cost | server CPU a request, ratio (median) | quartiles |',
);
console.log('|---|---:|---:|---:|---:|---:|');
const fixed = (ratio: number) => ratio.toFixed(3);
for (const [index, c] of cases.entries()) {
  const rate = quartiles(results[index]!.map((r) => r.rate));
  const cpu = quartiles(results[index]!.map((r) => r.cpu));
  console.log(
    `| ${c.label} | ${fixed(rate.median)} | ${fixed(rate.low)} … ${fixed(rate.high)} | ${((1 - rate.median) * 100).toFixed(1)} % | ${fixed(cpu.median)} | ${fixed(cpu.low)} … ${fixed(cpu.high)} |`,
  );
}
console.log('\ntarget: blockWatch() costs ≤ 2 % (a req/s ratio ≥ 0.980)');
