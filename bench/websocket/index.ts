/**
 * `npm run bench:websocket`: mortar's WebSockets (`serve()` + `webSocket()`) against crossws's
 * Node adapter on a bare node:http server and against bare `ws` (what both are built on):
 * - fan-out: messages delivered per second, 32 clients in one room each publishing to the 31
 *   others (target ≥ 0.95× crossws, ≥ 0.85× ws);
 * - handshakes per second, mortar through accessLog + session + urlmap (target ≥ 0.6× ws's
 *   `handleUpgrade`);
 * - resident memory per idle socket with 10,000 open, each measured in a server started for
 *   it (target ≤ 1.3× ws);
 * - echo round-trip p99 at 1 KiB, 8 clients (target ≤ 1.2× ws).
 * Servers (bundled, as production runs) on core 0, the `ws` load generator (bench/websocket/
 * load.ts, a process of its own) on core 1; the three servers are loaded in turn, the order
 * rotating round to round, and each ratio is the median of the per-round ratios. BENCH_RUNS
 * rounds (default 3) of BENCH_SECONDS (default 5); BENCH_SOCKETS idle sockets (10000);
 * BENCH_ONLY a comma-separated subset of fanout, handshake, echo, memory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { bundle, median, pinned, runs, seconds } from '../lib.js';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 10_000);
/** BENCH_ONLY=fanout,handshake,echo,memory: the measures to run (all by default). */
const ONLY = process.env.BENCH_ONLY?.split(',');
const only = (measure: string) => ONLY === undefined || ONLY.includes(measure);
const NAMES = ['mortar', 'crossws', 'ws'] as const;
type Name = (typeof NAMES)[number];

interface Server {
  child: ChildProcess;
  url: string;
}

/** Starts `name` of servers.ts, bundled, on core 0 with an IPC channel and `--expose-gc`. */
async function startServer(name: string): Promise<Server> {
  const script = await bundle(new URL('./servers.ts', import.meta.url));
  const command = pinned(0, [process.execPath, '--expose-gc', script, name]);
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: chunk.toString().trim() };
}

/** The server's resident set size in bytes, after it collected garbage. */
async function rss(server: Server): Promise<number> {
  server.child.send('rss');
  const [bytes] = (await once(server.child, 'message')) as [number];
  return bytes;
}

/** A load.ts process on core 1: its child and its first stdout line, parsed. */
async function loader(args: string[]): Promise<{ child: ChildProcess; result: LoadResult }> {
  const script = await bundle(new URL('./load.ts', import.meta.url));
  const command = pinned(1, [process.execPath, script, ...args]);
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    output += chunk;
    if (output.includes('\n')) break;
  }
  if (!output.includes('\n')) throw new Error(`load.ts ${args.join(' ')} printed nothing`);
  return { child, result: JSON.parse(output) as LoadResult };
}

interface LoadResult {
  perSecond?: number;
  p50?: number;
  p99?: number;
  open?: number;
}

/** One load run of `mode` on `server` to its end. */
async function load(mode: string, server: Server, value: number): Promise<LoadResult> {
  const { child, result } = await loader([mode, server.url, String(value)]);
  if (child.exitCode === null) await once(child, 'exit');
  return result;
}

/** Kilobytes of the server's memory per idle socket, `SOCKETS` held open by as many loaders as
 * the file-descriptor limit needs. */
async function bytesPerSocket(server: Server, perLoader: number): Promise<number> {
  const before = await rss(server);
  const loaders: ChildProcess[] = [];
  for (let left = SOCKETS; left > 0; left -= perLoader) {
    const { child } = await loader(['idle', server.url, String(Math.min(left, perLoader))]);
    loaders.push(child);
  }
  const after = await rss(server);
  await Promise.all(
    loaders.map((child) => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      return exited;
    }),
  );
  // Let the server see the closes before the next baseline.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return (after - before) / SOCKETS;
}

type Sample = Record<Name, number>;

/** `measure` of every server in `rounds` rounds, the order rotating; the samples per round. */
async function rounds(
  servers: Record<Name, Server>,
  measure: (server: Server) => Promise<number>,
): Promise<Sample[]> {
  for (const name of NAMES) await measure(servers[name]);
  const samples: Sample[] = [];
  for (let round = 0; round < runs; round++) {
    const sample = {} as Sample;
    for (let i = 0; i < NAMES.length; i++) {
      const name = NAMES[(round + i) % NAMES.length]!;
      sample[name] = await measure(servers[name]);
    }
    samples.push(sample);
  }
  return samples;
}

const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
const perLoader = Math.max(
  100,
  Math.min(SOCKETS, (Number.isFinite(fdLimit) ? fdLimit : 1024) - 200),
);
console.log(
  `\n${runs} interleaved rounds of ${seconds} s, Node ${process.version}, servers on core 0 and ws clients on core 1 (taskset when present); load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ulimit -n ${fdLimit}`,
);

const plain = {} as Record<Name, Server>;
const stacked = {} as Record<Name, Server>;
const all: Server[] = [];
try {
  for (const name of NAMES) {
    plain[name] = await startServer(name);
    all.push(plain[name]);
  }
  stacked.mortar = await startServer('mortar-stack');
  stacked.crossws = plain.crossws;
  stacked.ws = plain.ws;
  all.push(stacked.mortar);

  const rows: Row[] = [];
  if (only('fanout')) {
    const fan = await rounds(plain, async (s) => (await load('fanout', s, seconds)).perSecond!);
    rows.push(row('fan-out, msg/s delivered (32 clients, one room)', fan, 'higher', [0.95, 0.85]));
  }
  if (only('handshake')) {
    const hs = await rounds(stacked, async (s) => (await load('handshake', s, seconds)).perSecond!);
    rows.push(row('handshakes/s (mortar: accessLog + session + urlmap)', hs, 'higher', [0, 0.6]));
  }
  if (only('echo')) {
    const echo = await rounds(plain, async (s) => (await load('echo', s, seconds)).p99!);
    rows.push(row('echo 1 KiB round trip p99, µs (8 clients)', echo, 'lower', [0, 1.2]));
  }
  if (only('memory')) {
    // Each measure in a server of its own, started for it: a server that served the other
    // loads first has grown its heap already, and would show less growth per socket.
    const memory = await rounds(plain, async (s) => {
      const name = NAMES.find((n) => plain[n] === s)!;
      const fresh = await startServer(name);
      try {
        return await bytesPerSocket(fresh, perLoader);
      } finally {
        const exited = once(fresh.child, 'exit');
        fresh.child.kill('SIGTERM');
        await exited;
      }
    });
    rows.push(row(`RSS per idle socket, bytes (${SOCKETS} open)`, memory, 'lower', [0, 1.3]));
  }
  print(rows);
} finally {
  await Promise.all(
    all.map(({ child }) => {
      if (child.exitCode !== null) return undefined;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      return exited;
    }),
  );
}
console.log(
  `\nload average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

interface Row {
  label: string;
  values: Sample;
  ratios: [number, number];
  targets: [number, number];
  better: 'higher' | 'lower';
}

/** The medians of `samples` and the medians of the per-round ratios mortar ÷ crossws, ÷ ws. */
function row(
  label: string,
  samples: Sample[],
  better: Row['better'],
  targets: [number, number],
): Row {
  const values = {} as Sample;
  for (const name of NAMES) values[name] = median(samples.map((s) => s[name]));
  const ratios: [number, number] = [
    median(samples.map((s) => s.mortar / s.crossws)),
    median(samples.map((s) => s.mortar / s.ws)),
  ];
  return { label, values, ratios, targets, better };
}

function print(table: Row[]): void {
  const cell = (ratio: number, target: number, better: Row['better']) => {
    if (target === 0) return `${ratio.toFixed(2)}`;
    const met = better === 'higher' ? ratio >= target : ratio <= target;
    return `${ratio.toFixed(2)} (${better === 'higher' ? '≥' : '≤'} ${target}) ${met ? 'met' : 'MISSED'}`;
  };
  console.log(
    '\n| measure | mortar | crossws | ws | mortar ÷ crossws | mortar ÷ ws |\n|---|---:|---:|---:|---:|---:|',
  );
  for (const { label, values, ratios, targets, better } of table) {
    const [toCrossws, toWs] = ratios;
    console.log(
      `| ${label} | ${Math.round(values.mortar)} | ${Math.round(values.crossws)} | ${Math.round(values.ws)} | ${cell(toCrossws, targets[0], better)} | ${cell(toWs, targets[1], better)} |`,
    );
  }
}
