/**
 * `npm run bench`: HTTP throughput over loopback, each server in its own process, load from
 * autocannon in this one. Runs are interleaved (every server once, then again) and the
 * median of `BENCH_RUNS` (default 3) is reported, as req/s and as a ratio of bare node:http.
 *
 * Environment: BENCH_RUNS (default 3), BENCH_SECONDS per run (default 5),
 * BENCH_CONNECTIONS (default 50).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { layerCosts } from './layers.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);

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
];

async function start(server: string): Promise<{ child: ChildProcess; url: string }> {
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const script = fileURLToPath(new URL('./servers.ts', import.meta.url));
  const child = spawn(process.execPath, [tsx, script, server], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: chunk.toString().trim() };
}

async function load(url: string, duration: number): Promise<number> {
  const result = await autocannon({ url, connections, duration, pipelining: 1 });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
  }
  return result.requests.average;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const running = await Promise.all(cases.map((c) => start(c.server)));
const results: number[][] = cases.map(() => []);
try {
  for (const [index, c] of cases.entries()) await load(running[index]!.url + c.path, 1); // warm-up
  for (let run = 0; run < runs; run++) {
    for (const [index, c] of cases.entries()) {
      results[index]!.push(await load(running[index]!.url + c.path, seconds));
    }
  }
} finally {
  for (const { child } of running) child.kill();
}

const medians = results.map(median);
const bare = medians[0]!;
console.log(
  `\nmedian of ${runs} runs × ${seconds} s, ${connections} connections, Node ${process.version}\n`,
);
console.log('| case | req/s | × bare |');
console.log('|---|---:|---:|');
for (const [index, c] of cases.entries()) {
  console.log(
    `| ${c.label} | ${Math.round(medians[index]!)} | ${(medians[index]! / bare).toFixed(2)} |`,
  );
}
const [, plain, mounted, stack, hono] = medians as [number, number, number, number, number];
console.log(`\nmounting costs ${((1 - mounted / plain) * 100).toFixed(1)} % (target ≤ 5 %)`);
console.log(`stack / Hono = ${(stack / hono).toFixed(2)} (target ≥ 1.0)`);

console.log('\nin-process, no sockets (ns per request, median of 5 × 1e6 calls):');
for (const { label, ns } of layerCosts()) console.log(`  ${label}: ${ns.toFixed(0)} ns`);
