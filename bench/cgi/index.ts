/**
 * `npm run bench:cgi`: what one CGI request costs — a process start, mortar's loading, the
 * application, the response — on each Node it finds (this process's, and those `.ci/run`
 * installs into its cache folder: bench/cgi/nodes.ts), as medians of interleaved runs in
 * milliseconds. Each Node's figures stand beside that Node's floor for any fetch-handler CGI
 * (`node -e` touching `new Request` and `new Response`: Node 20 loads its fetch classes
 * lazily) and Python's wsgiref CGIHandler (when python3 is installed), in the same runs; the
 * ratios are taken run by run, then their median. On a Node with a compile cache
 * (`module.enableCompileCache()`, 22.1 and later, which bin/mortar.js turns on) mortar runs
 * with it warm and again with NODE_DISABLE_COMPILE_CACHE=1.
 *
 * mortar runs as a user installs it: `npm run build` first, then a temporary folder holding
 * package.json, bin/ and dist/ (no src/, so no TypeScript loader for a .js application).
 *
 * Targets: mortar cgi app.mjs ≤ 1.3 × the fetch floor on each Node, and faster than wsgiref
 * on Node 22 and later.
 *
 * Environment: BENCH_RUNS (default 20), MORTAR_NODES (the cache folder of Nodes), BENCH_NODES
 * (the majors to run, `22,24`; default all found).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../../test/helpers/net.js';
import { median } from '../lib.js';
import { type Node, nodes } from './nodes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 20);
const only = process.env.BENCH_NODES?.split(',').map(Number);
const found = nodes().filter((node) => !only || only.includes(node.major));

// npm runs on the first node on PATH: make that this one, as the rest of the run is.
const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`;
execFileSync('npm', ['run', 'build'], {
  cwd: root,
  stdio: 'ignore',
  env: { ...process.env, PATH },
});
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-bench-cgi-'));
const installed = path.join(dir, 'node_modules', 'mortar');
mkdirSync(installed, { recursive: true });
for (const part of ['package.json', 'bin', 'dist']) {
  cpSync(path.join(root, part), path.join(installed, part), { recursive: true });
}
symlinkSync(path.join(root, 'node_modules'), path.join(installed, 'node_modules'));
// An ES module project, as `mortar new` writes one.
writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
writeFileSync(path.join(dir, 'app.mjs'), "export const application = () => new Response('hi');\n");
writeFileSync(
  path.join(dir, 'app.ts'),
  "export const application = (): Response => new Response('hi');\n",
);
writeFileSync(
  path.join(dir, 'app.py'),
  "from wsgiref.handlers import CGIHandler\ndef app(environ, start):\n    start('200 OK', [('Content-Type', 'text/plain')])\n    return [b'hi']\nCGIHandler().run(app)\n",
);

const { NODE_COMPILE_CACHE: _, ...inherited } = process.env;
const env = {
  ...inherited,
  REQUEST_METHOD: 'GET',
  REQUEST_URI: '/',
  SCRIPT_NAME: '',
  PATH_INFO: '/',
  QUERY_STRING: '',
  SERVER_NAME: 'localhost',
  SERVER_PORT: '80',
  SERVER_PROTOCOL: 'HTTP/1.1',
  GATEWAY_INTERFACE: 'CGI/1.1',
};
const mortar = path.join(installed, 'bin', 'mortar.js');
// The bench's own temporary folder: the compile cache bin/mortar.js turns on (no
// NODE_COMPILE_CACHE, which alone would turn it on) lands in its node-compile-cache.
const temporary = path.join(dir, 'tmp');
mkdirSync(temporary);

type Kind = 'bare' | 'floor' | 'mortar' | 'uncached' | 'tsx' | 'python';
interface Case {
  node?: Node;
  kind: Kind;
  label: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** What one CGI request is made of on `node`. */
function casesOn(node: Node): Case[] {
  const on = (kind: Kind, label: string, args: string[], extra: Record<string, string> = {}) => ({
    node,
    kind,
    label,
    command: node.execPath,
    args,
    env: { TMPDIR: temporary, ...extra },
  });
  return [
    on('bare', 'node -e (a bare process start)', ['-e', '']),
    // The floor for any fetch-handler CGI: Node 20 loads its fetch classes (undici) lazily, on
    // the first touch of Request or Response, and the contract needs both.
    on('floor', 'node -e (new Request + new Response: the fetch floor)', [
      '-e',
      "new Request('http://localhost/'); new Response('hi').text()",
    ]),
    on('mortar', 'mortar cgi app.mjs', [mortar, 'cgi', 'app.mjs']),
    ...(node.compileCache
      ? [
          on(
            'uncached',
            'mortar cgi app.mjs, NODE_DISABLE_COMPILE_CACHE=1',
            [mortar, 'cgi', 'app.mjs'],
            {
              NODE_DISABLE_COMPILE_CACHE: '1',
            },
          ),
        ]
      : []),
    on('tsx', 'mortar cgi app.ts (tsx, warm cache)', [mortar, 'cgi', 'app.ts']),
  ];
}

const cases = found.flatMap(casesOn);
const python = which('python3');
if (python) {
  cases.push({
    kind: 'python',
    label: "python3 wsgiref's CGIHandler",
    command: python,
    args: ['app.py'],
  });
}

/** Clock ticks a second, for /proc's times (Linux); undefined elsewhere. */
const ticks = existsSync('/proc/self/stat')
  ? Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))
  : undefined;

/**
 * The CPU time, user and system, of this process's children that have ended, in
 * milliseconds (/proc/self/stat's cutime + cstime): what a request costs the machine, apart
 * from the time it waited for a CPU — the figure that holds on a loaded machine.
 */
function childrenCpuMs(): number {
  if (!ticks) return Number.NaN;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticks;
}

/** One request of `c`: wall and CPU milliseconds; throws when it fails or answers otherwise. */
function time(c: Case): { ms: number; cpu: number } {
  const cpuBefore = childrenCpuMs();
  const started = performance.now();
  const result = spawnSync(c.command, c.args, { cwd: dir, env: { ...env, ...c.env } });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`${c.label} (${c.node?.version}) failed: ${result.stderr}`);
  if (!['bare', 'floor'].includes(c.kind) && !result.stdout.toString().includes('hi')) {
    throw new Error(`${c.label} (${c.node?.version}) answered: ${result.stdout}`);
  }
  return { ms, cpu: childrenCpuMs() - cpuBefore };
}

for (const c of cases) time(c); // warm the caches once (the compile cache is filled here)
const times = cases.map(() => [] as number[]);
const cpu = cases.map(() => 0);
for (let run = 0; run < runs; run++) {
  for (const [index, c] of cases.entries()) {
    const took = time(c);
    times[index]!.push(took.ms);
    cpu[index]! += took.cpu / runs;
  }
}
rmSync(dir, { recursive: true, force: true });

/** The median, over the runs, of case `a`'s time over case `b`'s in the same run. */
const ratio = (a: number, b: number) => median(times[a]!.map((ms, run) => ms / times[b]![run]!));
/** Case `a`'s mean CPU time over case `b`'s. */
const cpuRatio = (a: number, b: number) => cpu[a]! / cpu[b]!;
const indexOf = (node: Node | undefined, kind: Kind) =>
  cases.findIndex((c) => c.node === node && c.kind === kind);
const pythonIndex = indexOf(undefined, 'python');

console.log(
  `\n${runs} interleaved runs: ms is the median wall time; ratios of wall times run by run, then` +
    ' their median; CPU ms the mean user + system time (it holds on a loaded machine)\n',
);
console.log('| one CGI request | Node | ms | CPU ms | × fetch floor | × wsgiref |');
console.log('|---|---|---:|---:|---:|---:|');
for (const [index, c] of cases.entries()) {
  const floor = indexOf(c.node, 'floor');
  const cells = [
    c.label,
    c.node?.version ?? '',
    median(times[index]!).toFixed(0),
    cpu[index]!.toFixed(0),
    c.node ? ratio(index, floor).toFixed(2) : '',
    pythonIndex >= 0 ? ratio(index, pythonIndex).toFixed(2) : '',
  ];
  console.log(`| ${cells.join(' | ')} |`);
}

console.log(
  '\ntargets: mortar cgi app.mjs ≤ 1.3 × the fetch floor; faster than wsgiref on Node ≥ 22\n',
);
for (const node of found) {
  const own = indexOf(node, 'mortar');
  const floor = ratio(own, indexOf(node, 'floor'));
  const cpuFloor = cpuRatio(own, indexOf(node, 'floor'));
  const said = [
    `${floor.toFixed(2)} × floor ${floor <= 1.3 ? 'met' : 'MISSED'} (CPU ${cpuFloor.toFixed(2)} ×)`,
  ];
  if (pythonIndex >= 0) {
    const wsgiref = ratio(own, pythonIndex);
    const met = wsgiref < 1 ? 'met' : node.major >= 22 ? 'MISSED' : 'not a target before Node 22';
    said.push(
      `${wsgiref.toFixed(2)} × wsgiref ${met} (CPU ${cpuRatio(own, pythonIndex).toFixed(2)} ×)`,
    );
  }
  if (node.compileCache) {
    const uncached = indexOf(node, 'uncached');
    said.push(
      `compile cache ${ratio(own, uncached).toFixed(2)} × without (CPU ${cpuRatio(own, uncached).toFixed(2)} ×)`,
    );
  }
  console.log(`Node ${node.version}: ${said.join('; ')}`);
}
