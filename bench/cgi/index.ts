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
 * Environment: BENCH_RUNS (default 20), MORTAR_NODES (the cache folder of Nodes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../../test/helpers/net.js';
import { median } from '../lib.js';
import { type Node, nodes } from './nodes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 20);
const found = nodes();

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

const env = {
  ...process.env,
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
const cache = path.join(dir, 'compile-cache');

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
    env: { NODE_COMPILE_CACHE: cache, ...extra },
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

/** One request of `c`, in milliseconds; throws when it fails or answers something else. */
function time(c: Case): number {
  const started = performance.now();
  const result = spawnSync(c.command, c.args, { cwd: dir, env: { ...env, ...c.env } });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`${c.label} (${c.node?.version}) failed: ${result.stderr}`);
  if (!['bare', 'floor'].includes(c.kind) && !result.stdout.toString().includes('hi')) {
    throw new Error(`${c.label} (${c.node?.version}) answered: ${result.stdout}`);
  }
  return ms;
}

for (const c of cases) time(c); // warm the caches once (the compile cache is filled here)
const times = cases.map(() => [] as number[]);
for (let run = 0; run < runs; run++) {
  for (const [index, c] of cases.entries()) times[index]!.push(time(c));
}
rmSync(dir, { recursive: true, force: true });

/** The median, over the runs, of case `a`'s time over case `b`'s in the same run. */
const ratio = (a: number, b: number) => median(times[a]!.map((ms, run) => ms / times[b]![run]!));
const indexOf = (node: Node | undefined, kind: Kind) =>
  cases.findIndex((c) => c.node === node && c.kind === kind);
const pythonIndex = indexOf(undefined, 'python');

console.log(`\nmedians of ${runs} interleaved runs; ratios run by run, then their median\n`);
console.log('| one CGI request | Node | ms | × fetch floor | × wsgiref |');
console.log('|---|---|---:|---:|---:|');
for (const [index, c] of cases.entries()) {
  const floor = indexOf(c.node, 'floor');
  const cells = [
    c.label,
    c.node?.version ?? '',
    median(times[index]!).toFixed(0),
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
  const said = [`${floor.toFixed(2)} × floor ${floor <= 1.3 ? 'met' : 'MISSED'}`];
  if (pythonIndex >= 0) {
    const wsgiref = ratio(own, pythonIndex);
    const met = wsgiref < 1 ? 'met' : node.major >= 22 ? 'MISSED' : 'not a target before Node 22';
    said.push(`${wsgiref.toFixed(2)} × wsgiref ${met}`);
  }
  if (node.compileCache) {
    said.push(`compile cache ${ratio(own, indexOf(node, 'uncached')).toFixed(2)} × without`);
  }
  console.log(`Node ${node.version}: ${said.join('; ')}`);
}
