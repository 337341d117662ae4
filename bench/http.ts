/**
 * `npm run bench:http`: HTTP throughput over loopback, each server in its own process (the
 * bundled JavaScript production runs, not tsx: see `bundle` in lib.ts), load from autocannon
 * in this one (wrk when installed), servers and load pinned to their own cores with taskset
 * where there is one. Measured in back-to-back pairs, as `bench:access-log` does: per round
 * the base and the case are loaded one after the other (the order alternating) and their
 * ratio taken, so the machine's drift (±20 % over minutes on a shared one) cancels out of
 * each ratio; the median and quartiles of the ratios are reported.
 *
 * Targets (issue 22 §3): `serve(hello)` ≥ 0.9× bare node:http, the 3-layer + helloWorld +
 * urlmap stack ≥ 0.85× bare, mounting ≤ 5 % of `serve(hello)`, the stack ≥ Hono's.
 *
 * Environment: BENCH_ROUNDS (default 12), BENCH_TRIALS (fresh server processes, default 6: the
 * rounds are shared among them), BENCH_BURST seconds per load (default 1),
 * BENCH_WARMUP (seconds each server is loaded after it starts, default 2),
 * BENCH_PAIRS (a comma-separated list of `hello`, `stack`, `mount`, `hono`: only those),
 * BENCH_CONNECTIONS (default 50), BENCH_LOADER=autocannon to ignore an installed wrk,
 * BENCH_NODES (the Node majors to run, `20,24`; default every Node found: this one and those
 * `.ci/run` installs, see bench/cgi/nodes.ts — the whole run once under each, a table each).
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodes } from './cgi/nodes.js';
import { layerCosts } from './layers.js';
import {
  load,
  loader,
  measurePaired,
  type PairedSample,
  quartiles,
  type Running,
  startServer,
} from './lib.js';

// The first process runs the bench once under each Node, servers and load alike (they start
// on the Node running the bench); each run prints its own table.
if (process.env.BENCH_HTTP_NODE === undefined) {
  const only = process.env.BENCH_NODES?.split(',').map(Number);
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
  let failed = 0;
  for (const node of nodes().filter((n) => !only || only.includes(n.major))) {
    const run = spawnSync(node.execPath, [tsx, fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_HTTP_NODE: node.version },
    });
    if (run.status !== 0) failed++;
  }
  process.exit(failed === 0 ? 0 : 1);
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 12);
const burst = Number(process.env.BENCH_BURST ?? 1);
const trials = Math.min(rounds, Number(process.env.BENCH_TRIALS ?? 6));
const warmup = Number(process.env.BENCH_WARMUP ?? 2);

/** Each pair: the base server and path, the case against it, and the target ratio. */
const allPairs = [
  {
    key: 'hello',
    label: 'mortar serve(hello) / bare node:http hello',
    base: ['bare', '/'],
    target: ['mortar', '/'],
    goal: '≥ 0.90',
  },
  {
    key: 'stack',
    label: 'mortar 3 pass-through + helloWorld + urlmap / bare node:http hello',
    base: ['bare', '/'],
    target: ['mortar-stack', '/app/x'],
    goal: '≥ 0.85',
  },
  {
    key: 'mount',
    label: "mortar serve(urlmap({'/app': hello})) / mortar serve(hello) (mounting)",
    base: ['mortar', '/'],
    target: ['mortar-mount', '/app/x'],
    goal: '≥ 0.95',
  },
  {
    key: 'hono',
    label: 'mortar stack / Hono 3 middleware + route + mount',
    base: ['hono-stack', '/app/x'],
    target: ['mortar-stack', '/app/x'],
    goal: '≥ 1.00',
  },
] as const;
const onlyPairs = process.env.BENCH_PAIRS?.split(',').map((p) => p.trim());
for (const key of onlyPairs ?? []) {
  if (!allPairs.some((p) => p.key === key)) {
    throw new Error(`BENCH_PAIRS: unknown pair ${key} (${allPairs.map((p) => p.key).join(', ')})`);
  }
}
const pairs = allPairs.filter((p) => !onlyPairs || onlyPairs.includes(p.key));

const servers = new URL('./servers.ts', import.meta.url);
const results: PairedSample[][] = pairs.map(() => []);
/** Each server once, with the path it is loaded at. */
const eachServer = [
  ...new Map(pairs.flatMap((p) => [p.base, p.target]).map((side) => [side[0], side])).values(),
];
// Fresh server processes per trial: one process of the same code runs a few per cent faster or
// slower than another for its whole life (where V8 placed and inlined what), which no number of
// rounds against that one process averages out. Measured here with wrk, two processes of
// serve(hello) differ by up to 3 % in their medians; across trials that bias cancels.
for (let trial = 0; trial < trials; trial++) {
  const running = new Map<string, Running>(
    await Promise.all(
      eachServer.map(
        async ([name]) => [name, await startServer(servers, name, {}, [], true)] as const,
      ),
    ),
  );
  const url = ([name, path]: readonly [string, string]) => `${running.get(name)!.url}${path}`;
  try {
    // Every server warmed as long as any other before the first pair: a server measured in two
    // pairs would otherwise have run (and been optimised by V8) longer than one measured once.
    for (const side of eachServer) await load(url(side), warmup);
    const each = Math.ceil(rounds / trials);
    for (const [index, p] of pairs.entries())
      results[index]!.push(...(await measurePaired(url(p.base), url(p.target), each, burst)));
  } finally {
    for (const { child } of running.values()) child.kill();
  }
}

console.log(
  `\n${results[0]!.length} rounds (${trials} sets of server processes) × ${burst} s a side, ${loader}, Node ${process.version}: req/s of the case over its base, in the same round\n`,
);
if (loader === 'autocannon') {
  console.log(
    'autocannon runs in this process, on the core the servers do not have only when nothing else runs: the targets are set with wrk (apt-get install -y wrk)\n',
  );
}
console.log('| case / base | ratio (median) | quartiles | target |');
console.log('|---|---:|---:|---:|');
for (const [index, p] of pairs.entries()) {
  const { low, median, high } = quartiles(results[index]!.map((s) => s.ratio));
  console.log(
    `| ${p.label} | ${median.toFixed(2)} | ${low.toFixed(2)} … ${high.toFixed(2)} | ${p.goal} |`,
  );
}

console.log('\nin-process, no sockets (ns per request, median of 5 × 1e6 calls):');
for (const { label, ns } of layerCosts()) console.log(`  ${label}: ${ns.toFixed(0)} ns`);
