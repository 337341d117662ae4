/**
 * `npm run bench:debug`: what `debug()` costs a request that throws nothing, over HTTP, in
 * pairs (see `measurePaired`: each round loads two servers back to back and takes their ratio;
 * the median and quartiles are reported):
 * - capture `'after-error'` (the default outside development: the inspector is off until an
 *   error) against the same application without debug();
 * - capture `'always'` (the default under NODE_ENV=development and `mortar serve --reload`:
 *   the inspector pauses on exceptions from the start) against `'after-error'`.
 * Target: ≤ 5 % fewer req/s for each.
 */
import { loader, measurePaired, quartiles, startServer } from '../lib.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const burst = Number(process.env.BENCH_BURST ?? 2);
const script = new URL('./servers.ts', import.meta.url);
// NODE_ENV=development: debug() refuses to run in production.
const env = { NODE_ENV: 'development' };
const servers = {
  plain: await startServer(script, 'plain', env),
  afterError: await startServer(script, 'debug', env),
  always: await startServer(script, 'debug-always', env),
};
const url = (name: keyof typeof servers) => `${servers[name].url}/app/x`;
const cases = [
  ['debug(), capture after an error, against no debug()', 'plain', 'afterError'],
  ["debug(), capture 'always', against capture after an error", 'afterError', 'always'],
] as const;
try {
  console.log(
    `\n${rounds} rounds × ${burst} s a side, ${loader}, Node ${process.version}: req/s of the second against the first, in the same round\n`,
  );
  console.log('| case | req/s cost (median) | quartiles | time added a request (median) |');
  console.log('|---|---:|---:|---:|');
  for (const [what, base, target] of cases) {
    const samples = await measurePaired(url(base), url(target), rounds, burst);
    const { low, median, high } = quartiles(samples.map((s) => s.ratio));
    const added = quartiles(samples.map((s) => s.addedMicroseconds)).median;
    const cost = (ratio: number) => `${((1 - ratio) * 100).toFixed(1)} %`;
    console.log(
      `| ${what} | ${cost(median)} | ${cost(high)} … ${cost(low)} | ${added.toFixed(1)} µs |`,
    );
  }
  console.log('\ntarget: ≤ 5 % each');
} finally {
  for (const server of Object.values(servers)) server.child.kill();
}
