/**
 * `npm run bench:cgi`: what one CGI request costs — a process start, mortar's loading, the
 * application, the response — as the median of interleaved runs, in milliseconds, beside a
 * bare `node -e` start and Python's wsgiref CGIHandler (when python3 is installed).
 *
 * mortar runs as a user installs it: `npm run build` first, then a temporary folder holding
 * package.json, bin/ and dist/ (no src/, so no TypeScript loader for a .js application).
 *
 * Environment: BENCH_RUNS (default 20).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../../test/helpers/net.js';
import { median } from '../lib.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 20);

execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-bench-cgi-'));
const installed = path.join(dir, 'node_modules', 'mortar');
mkdirSync(installed, { recursive: true });
for (const part of ['package.json', 'bin', 'dist']) {
  cpSync(path.join(root, part), path.join(installed, part), { recursive: true });
}
symlinkSync(path.join(root, 'node_modules'), path.join(installed, 'node_modules'));
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
const cases: { label: string; command: string; args: string[] }[] = [
  { label: 'node -e (a bare process start)', command: process.execPath, args: ['-e', ''] },
  {
    // The floor for any fetch-handler CGI: Node loads its fetch classes (undici) lazily, on
    // the first touch of Request or Response, and the contract needs both.
    label: 'node -e (new Request + new Response: the fetch classes alone)',
    command: process.execPath,
    args: ['-e', "new Request('http://localhost/'); new Response('hi').text()"],
  },
  { label: 'mortar cgi app.mjs', command: process.execPath, args: [mortar, 'cgi', 'app.mjs'] },
  {
    label: 'mortar cgi app.ts (tsx, warm cache)',
    command: process.execPath,
    args: [mortar, 'cgi', 'app.ts'],
  },
];
const python = which('python3');
if (python)
  cases.push({ label: "python3 wsgiref's CGIHandler", command: python, args: ['app.py'] });

const times = cases.map(() => [] as number[]);
for (const c of cases) spawnSync(c.command, c.args, { cwd: dir, env }); // warm caches once
for (let run = 0; run < runs; run++) {
  for (const [index, c] of cases.entries()) {
    const started = performance.now();
    const result = spawnSync(c.command, c.args, { cwd: dir, env });
    times[index]!.push(performance.now() - started);
    if (result.status !== 0) throw new Error(`${c.label} failed: ${result.stderr}`);
    if (index > 1 && !result.stdout.toString().includes('hi')) {
      throw new Error(`${c.label} answered: ${result.stdout}`);
    }
  }
}
rmSync(dir, { recursive: true, force: true });

const bare = median(times[0]!);
console.log(`\nmedian of ${runs} interleaved runs, Node ${process.version}\n`);
console.log('| one CGI request | ms | × node -e |');
console.log('|---|---:|---:|');
for (const [index, c] of cases.entries()) {
  const ms = median(times[index]!);
  console.log(`| ${c.label} | ${ms.toFixed(0)} | ${(ms / bare).toFixed(2)} |`);
}
console.log('\ntarget: mortar cgi app.mjs ≤ 1.5 × node -e');
