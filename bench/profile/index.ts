/**
 * `npm run bench:profile`: what starting a request's CPU profile costs on a large heap — a
 * fresh inspector session per request, one session kept connected and enabled, and
 * profile()'s Profiler (kept warm by a background profile). V8 builds its map of compiled code
 * when a profile starts and no other runs: it walks the heap, so the first two pay it at every
 * request. Prints the median milliseconds from the start of the profile to the start of the
 * work, and of the whole profiled run of a 1 ms piece of work.
 *
 * Environment: BENCH_HEAP_OBJECTS (default 3 000 000 objects, each with a closure: ~585 MB),
 * BENCH_RUNS (default 5).
 */
import inspector from 'node:inspector';
import { Profiler } from '../../middleware/profile/profiler.js';

const objects = Number(process.env.BENCH_HEAP_OBJECTS ?? 3_000_000);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const heap: unknown[] = [];
for (let i = 0; i < objects; i++) heap.push({ i, name: `n${i}`, get: () => i });

const post = (session: inspector.Session, method: string) =>
  new Promise<unknown>((resolve, reject) =>
    session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
  );
function work(): number {
  const end = performance.now() + 1;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function fresh(): Promise<[number, number]> {
  const t0 = performance.now();
  const session = new inspector.Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.start');
  const t1 = performance.now();
  work();
  await post(session, 'Profiler.stop');
  session.disconnect();
  return [t1 - t0, performance.now() - t0];
}

const kept = new inspector.Session();
kept.connect();
await post(kept, 'Profiler.enable');
async function connected(): Promise<[number, number]> {
  const t0 = performance.now();
  await post(kept, 'Profiler.start');
  const t1 = performance.now();
  work();
  await post(kept, 'Profiler.stop');
  return [t1 - t0, performance.now() - t0];
}

async function measure(label: string, each: () => Promise<[number, number]>) {
  const starts: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [start, total] = await each();
    starts.push(start);
    totals.push(total);
  }
  console.log(`| ${label} | ${median(starts).toFixed(2)} ms | ${median(totals).toFixed(2)} ms |`);
}

const heapMB = Math.round(process.memoryUsage().heapUsed / 1e6);
console.log(`\nNode ${process.version}, heap ${heapMB} MB, median of ${runs}\n`);
console.log('| profiler | start of the profile | whole profiled 1 ms run |');
console.log('|---|---:|---:|');
await measure('a fresh session per request', fresh);
await measure('one session, kept connected and enabled', connected);
kept.disconnect();
const warmStart = performance.now();
const profiler = new Profiler();
console.log(
  `| (profile()'s Profiler: its first, warming start) | ${(performance.now() - warmStart).toFixed(2)} ms | |`,
);
await measure("profile()'s Profiler, kept warm", async () => {
  const t0 = performance.now();
  let t1 = 0;
  await profiler.run(async () => {
    t1 = performance.now();
    return work();
  }, true);
  return [t1 - t0, performance.now() - t0];
});
profiler.close();
if (heap.length !== objects) throw new Error('the heap was collected');
