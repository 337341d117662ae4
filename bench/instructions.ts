/**
 * `npm run bench:instructions`: what a layer costs in instructions, not seconds — each server
 * of bench/servers.ts runs under valgrind's callgrind, is warmed up (so V8 has optimised its
 * code), then its counters are zeroed and it serves a fixed number of requests. The user-space
 * instructions per request of a plain server move ~1.5 % between runs (a layer that holds
 * strings across garbage collections, like a buffered log, several per cent), where req/s on a
 * shared machine swings ±10 %: a cost of a few per cent can be told apart here and not in
 * `bench:http`.
 *
 * Kernel time (the socket writes, a third or more of a hello world's time) is not counted, so
 * a ratio here overstates a layer's share of the whole request.
 *
 * The servers run the built package (`dist/`, what users install; the script builds it first),
 * not the sources through tsx as bench:http does: code loaded through tsx measures 5–15 %
 * more instructions for the same layer here, for reasons not found yet.
 *
 * Needs valgrind (`apt-get install -y valgrind`). Environment: BENCH_WARMUP (default 6000
 * requests), BENCH_REQUESTS (default 4000), over 4 keep-alive connections.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../test/helpers/net.js';

const valgrind = which('valgrind');
const control = which('callgrind_control');
if (!valgrind || !control) {
  console.log('valgrind is not installed: apt-get install -y valgrind');
  process.exit(0);
}

const warmup = Number(process.env.BENCH_WARMUP ?? 6000);
const requests = Number(process.env.BENCH_REQUESTS ?? 4000);
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
/** Each case: the application `serve` runs, as code over the built package's exports. */
const cases = [
  { label: 'mortar serve(hello)', app: 'hello' },
  {
    label: "urlmap({ '/app': hello }) at /app/x (mounting)",
    app: "urlmap({ '/app': hello })",
    path: '/app/x',
  },
  {
    label: '3 pass-through + helloWorld + urlmap at /app/x',
    app: "compose(pass, pass, pass, helloWorld())(urlmap({ '/app': hello }))",
    path: '/app/x',
  },
  {
    label: 'accessLog(hello), no line formatted (the mechanism alone)',
    app: "accessLog({ format: () => '', write: () => {} })(hello)",
  },
  {
    label: 'accessLog(hello), Combined lines to /dev/null (batchedWriter, as stderr by default)',
    app: "accessLog({ write: batchedWriter(createWriteStream('/dev/null')) })(hello)",
  },
];

/** The server module for one case: serves `app` on a free port and prints its URL. */
const serverSource = (app: string) => `
import { createWriteStream } from 'node:fs';
import { accessLog, batchedWriter } from ${JSON.stringify(`${dist}middleware/access-log/index.js`)};
import { hello, helloWorld } from ${JSON.stringify(`${dist}middleware/hello/index.js`)};
import { urlmap } from ${JSON.stringify(`${dist}middleware/urlmap/index.js`)};
import { compose } from ${JSON.stringify(`${dist}src/index.js`)};
import { serve } from ${JSON.stringify(`${dist}src/gateways/node/index.js`)};
const pass = (app) => (request, environ) => app(request, environ);
const server = await serve(${app}, { port: 0, announce: false });
console.log(server.url);
`;

/** `count` GETs of `url`, four at a time on keep-alive connections. */
async function get(url: string, count: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let sent = 0;
  const one = async (): Promise<void> => {
    while (sent < count) {
      sent++;
      await new Promise<void>((resolve, reject) => {
        http
          .get(url, { agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject);
      });
    }
  };
  await Promise.all([one(), one(), one(), one()]);
  agent.destroy();
}

/** The instructions per request of one server, after its warm-up. */
async function instructionsPerRequest(app: string, at = '/'): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-callgrind-'));
  const server = path.join(dir, 'server.mjs');
  writeFileSync(server, serverSource(app));
  const child = spawn(
    valgrind!,
    ['--tool=callgrind', `--callgrind-out-file=${dir}/out`, process.execPath, server],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  try {
    const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
    const url = chunk.toString().trim().replace(/\/$/, '') + at;
    await get(url, warmup);
    execFileSync(control!, ['-z', String(child.pid)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    await get(url, requests);
    execFileSync(control!, ['-d', String(child.pid)], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const dump = readdirSync(dir).find((name) => name.startsWith('out.'));
      const totals = dump && /^totals: (\d+)/m.exec(readFileSync(path.join(dir, dump), 'utf8'));
      if (totals) return Number(totals[1]) / requests;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`callgrind wrote no dump for ${app}`);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const counts: number[] = [];
for (const c of cases) counts.push(await instructionsPerRequest(c.app, 'path' in c ? c.path : '/'));
const base = counts[0]!;
console.log(
  `\ncallgrind, the built package, ${requests} requests after ${warmup} to warm up, Node ${process.version}\n`,
);
console.log('| case | instructions / request | × serve(hello) |');
console.log('|---|---:|---:|');
for (const [index, c] of cases.entries()) {
  console.log(
    `| ${c.label} | ${Math.round(counts[index]!)} | ${(counts[index]! / base).toFixed(3)} |`,
  );
}
