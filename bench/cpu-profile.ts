/**
 * `npm run bench:cpu-profile -- <server> [path]`: where one server of `bench/servers.ts` spends its
 * CPU under load — the server runs under `node --cpu-prof`, is loaded for BENCH_SECONDS
 * (default 10) by autocannon, then stopped, and the profile's self time is summed per
 * function and printed (the top BENCH_TOP, default 25, and the share of mortar's own files).
 * The .cpuprofile stays in the printed folder for Chrome DevTools or speedscope.
 *
 * BENCH_SERVERS names another servers script under bench/ (`cache/servers.ts`), with
 * BENCH_SERVER_ARGS the arguments after the name (space-separated).
 *
 * Use it to find where per-request time goes before changing the hot path; compare two
 * versions by the share of a function, not by req/s (the machine's speed drifts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, load, loader } from './lib.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [
  name = 'mortar-stack',
  route = name.endsWith('stack') || name.endsWith('mount') ? '/app/x' : '/',
] = process.argv.slice(2);
const duration = Number(process.env.BENCH_SECONDS ?? 10);
const top = Number(process.env.BENCH_TOP ?? 25);
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-profile-'));

const child = spawn(
  process.execPath,
  [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    await bundle(new URL(process.env.BENCH_SERVERS ?? './servers.ts', import.meta.url)),
    name,
    ...(process.env.BENCH_SERVER_ARGS?.split(' ') ?? []),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } },
);
const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
const url = `${chunk.toString().trim()}${route}`;
await load(url, 1);
const { requests } = await load(url, duration);
child.kill('SIGTERM');
await once(child, 'exit');

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile in ${dir}: did the server exit cleanly on SIGTERM?`);
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
let total = 0;
let mortar = 0;
for (const [index, id] of profile.samples.entries()) {
  const delta = profile.timeDeltas[index] ?? 0;
  const frame = byId.get(id)!.callFrame;
  const where = frame.url.replace(/^file:\/\//, '').replace(root, '');
  // The bundle names no source file: a function is mortar's when it is not Node's or a package's.
  const key = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + delta);
  total += delta;
  if (where.includes('.cache/mortar-bench/')) mortar += delta;
}
const idle = [...self].filter(([key]) => key.startsWith('(idle)')).reduce((s, [, t]) => s + t, 0);
const busy = total - idle;
console.log(
  `\n${name} ${route}: ${Math.round(requests)} req/s (${loader}, ${duration} s, the profiler on); busy ${(busy / 1e3).toFixed(0)} ms`,
);
console.log(
  `the bundle (mortar and bench/servers.ts): ${((mortar / busy) * 100).toFixed(1)} % of busy time\n`,
);
for (const [key, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((time / busy) * 100).toFixed(1).padStart(5)} %  ${key}`);
}
console.log(`\nprofile: ${path.join(dir, file)}`);
