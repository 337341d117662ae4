/**
 * `npm run bench:websocket-runtimes`: WebSocket echo messages per second on Deno and on Bun,
 * through mortar (`toFetchHandler` / `toBunServe` with `webSocket()`) against crossws's own
 * adapter on the same runtime (`bench/websocket/runtimes-server.ts`), with the same hooks.
 * The servers run on core 0, the load (`runtimes-client.ts`, Bun's WebSocket client) on core
 * 1; runs are interleaved mortar, crossws, crossws, mortar … and the ratio is taken pair by
 * pair (DESIGN.md §4). Besides echoes per second it reads the server's CPU time per echo from
 * /proc (utime + stime), which a loaded machine disturbs far less than throughput: the ratio
 * of those (crossws's CPU per echo ÷ mortar's) is the throughput mortar would have on a core of
 * its own. Target: mortar ≥ 0.9× crossws on each runtime.
 *
 * BENCH_RUNS pairs (default 3), BENCH_SECONDS each (default 5), BENCH_CONNECTIONS sockets
 * (default 32), BENCH_BYTES per message (default 1024).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { which } from '../../test/helpers/net.js';
import { median } from '../lib.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const bytes = Number(process.env.BENCH_BYTES ?? 1024);

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const server = fileURLToPath(new URL('./runtimes-server.ts', import.meta.url));
const client = fileURLToPath(new URL('./runtimes-client.ts', import.meta.url));
const taskset = which('taskset');

/** `command` on CPU `core` when taskset and a second core are there. */
const pinned = (core: number, command: string[]): string[] =>
  taskset && availableParallelism() > 1 ? [taskset, '-c', String(core), ...command] : command;

const runtimes = [
  { name: 'Deno', command: [bin('deno'), 'run', '-A', '--sloppy-imports', server] },
  { name: 'Bun', command: [bin('bun'), server] },
];

/** Starts one server and waits for the URL it prints. */
async function start(
  command: string[],
  mode: string,
): Promise<{ child: ChildProcess; url: string }> {
  const [file, ...args] = pinned(0, [...command, mode]);
  const child = spawn(file!, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: chunk.toString().trim().split('\n')[0]! };
}

/** CPU seconds (user + system) process `pid` has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
}

interface Sample {
  perSecond: number;
  /** The server's CPU microseconds per echo. */
  cpuMicros: number;
}

/** One load run against `server`: echoes per second, and the server's CPU per echo. */
async function echo(server: { child: ChildProcess; url: string }): Promise<Sample> {
  const before = cpuSeconds(server.child.pid!);
  const { perSecond, echoes } = await load(server.url);
  const cpu = cpuSeconds(server.child.pid!) - before;
  return { perSecond, cpuMicros: (cpu * 1e6) / echoes };
}

/** Runs the client against `url`. */
async function load(url: string): Promise<{ perSecond: number; echoes: number }> {
  const [file, ...args] = pinned(1, [
    bin('bun'),
    client,
    url,
    String(connections),
    String(seconds),
    String(bytes),
  ]);
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk) => {
    out += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`the client failed (${code}): ${out}`);
  return JSON.parse(out) as { perSecond: number; echoes: number };
}

const rows: string[] = [];
for (const runtime of runtimes) {
  const mortar = await start(runtime.command, 'mortar');
  const crossws = await start(runtime.command, 'crossws');
  try {
    await echo(mortar); // warm-up, both
    await echo(crossws);
    const m: Sample[] = [];
    const c: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      // mortar, crossws, crossws, mortar …: each pair's ratio from neighbouring runs.
      const [a, b] = i % 2 === 0 ? [mortar, crossws] : [crossws, mortar];
      const first = await echo(a);
      const second = await echo(b);
      m.push(a === mortar ? first : second);
      c.push(a === mortar ? second : first);
      console.error(
        `${runtime.name} pair ${i + 1}: mortar ${m[i]!.perSecond.toFixed(0)}/s ${m[i]!.cpuMicros.toFixed(1)} µs, crossws ${c[i]!.perSecond.toFixed(0)}/s ${c[i]!.cpuMicros.toFixed(1)} µs`,
      );
    }
    const ratio = (f: (pair: [Sample, Sample]) => number) => {
      const ratios = m.map((mi, i) => f([mi, c[i]!]));
      return `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    };
    rows.push(
      `| ${runtime.name} | ${median(m.map((s) => s.perSecond)).toFixed(0)} | ${median(c.map((s) => s.perSecond)).toFixed(0)} | ${ratio(([mi, ci]) => mi.perSecond / ci.perSecond)} | ${median(m.map((s) => s.cpuMicros)).toFixed(1)} | ${median(c.map((s) => s.cpuMicros)).toFixed(1)} | ${ratio(([mi, ci]) => ci.cpuMicros / mi.cpuMicros)} |`,
    );
  } finally {
    mortar.child.kill();
    crossws.child.kill();
  }
}
console.log(
  `\n${runs} pairs × ${seconds} s, ${connections} sockets, ${bytes}-byte text echoes; servers on core 0, Bun's client on core 1\n`,
);
console.log(
  '| runtime | mortar echoes/s | crossws echoes/s | mortar ÷ crossws | mortar CPU µs/echo | crossws CPU µs/echo | crossws ÷ mortar CPU |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
console.log('\ntarget: ≥ 0.90× on each runtime');
