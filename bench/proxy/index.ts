/**
 * `npm run bench:proxy`: req/s through a reverse proxy to a bare node:http upstream (keep-alive
 * to it), 1 KiB and 1 MiB bodies: mortar's `proxy` (mortar/proxy/node) against nginx
 * `proxy_pass` with upstream keepalive, @fastify/http-proxy, http-proxy-middleware on Express,
 * and Hono's `proxy` on @hono/node-server; and mortar's own proxy over node:http's `request`
 * with a keep-alive agent (`mortar-node-http`), the transport undici's was chosen over. Each proxy runs in its own process (on core 0 with
 * the upstream, the load generator on core 1, where taskset exists); each anchor is measured
 * in pairs with mortar (`measurePaired`: back to back, the order alternating) and the median
 * ratio mortar / anchor reported with its quartiles.
 *
 * The targets at 1 KiB: ≥ 1.5× http-proxy-middleware, ≥ 0.8× @fastify/http-proxy,
 * ≥ 0.35× nginx; at 1 MiB ≥ 0.8× @fastify/http-proxy.
 *
 * Each server runs bundled (as production runs: see `bundle` in bench/lib.ts), not under tsx.
 *
 * Environment: BENCH_ROUNDS (default 6), BENCH_BURST seconds per load (default 2),
 * BENCH_CONNECTIONS (default 50).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FrontEnd, nginxBinary, startNginx } from '../../test/helpers/frontends.js';
import { connections, load, loader, measurePaired, quartiles, startServer } from '../lib.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const burst = Number(process.env.BENCH_BURST ?? 2);
const script = new URL('./servers.ts', import.meta.url);
/** BENCH_ANCHORS picks some (a comma list); `mortar-node-http` is mortar over node:http. */
const anchors = (
  process.env.BENCH_ANCHORS ?? 'nginx,fastify,http-proxy-middleware,hono,mortar-node-http'
).split(',');
const children: ChildProcess[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-bench-proxy-'));
let nginx: FrontEnd | undefined;

try {
  const upstream = await startServer(script, 'upstream', {}, [], true);
  children.push(upstream.child);
  const urls = new Map<string, string>();
  for (const name of ['mortar', ...anchors.filter((a) => a !== 'nginx')]) {
    const running = await startServer(script, name, {}, [upstream.url], true);
    children.push(running.child);
    urls.set(name, running.url);
  }
  if (nginxBinary && anchors.includes('nginx')) {
    const port = new URL(upstream.url).port;
    nginx = await startNginx(
      dir,
      [
        `LISTEN location /api/ {
          proxy_pass http://backend/v1/;
          proxy_http_version 1.1;
          proxy_set_header Connection "";
          proxy_buffering on;
        }`,
      ],
      `upstream backend { server 127.0.0.1:${port}; keepalive 64; }
       keepalive_requests 100000;`,
    );
    urls.set('nginx', nginx.urls[0]!);
  } else if (anchors.includes('nginx')) {
    console.log('nginx is not installed (apt-get install -y nginx): its row is left out');
  }

  console.log(
    `\n${rounds} paired rounds × ${burst} s, ${connections} connections, ${loader}, Node ${process.version}`,
  );
  for (const [size, file] of [
    ['1 KiB', '1k'],
    ['1 MiB', '1m'],
  ] as const) {
    console.log(
      `\n${size}\n\n| anchor | anchor req/s | mortar req/s | mortar / anchor (median, quartiles) |\n|---|---:|---:|---:|`,
    );
    for (const name of anchors) {
      const base = urls.get(name);
      if (!base) continue;
      const samples = await measurePaired(
        `${base}/api/${file}`,
        `${urls.get('mortar')}/api/${file}`,
        rounds,
        burst,
      );
      const q = quartiles(samples.map((s) => s.ratio));
      const rates = await rateOnce(base, urls.get('mortar')!, file);
      console.log(
        `| ${name} | ${Math.round(rates.base)} | ${Math.round(rates.mortar)} | ${q.median.toFixed(2)} (${q.low.toFixed(2)}–${q.high.toFixed(2)}) |`,
      );
    }
  }
} finally {
  for (const child of children) child.kill();
  await nginx?.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** One more back-to-back pair for the absolute figures the table shows beside the ratio. */
async function rateOnce(base: string, mortar: string, file: string) {
  const b = await load(`${base}/api/${file}`, burst);
  const m = await load(`${mortar}/api/${file}`, burst);
  return { base: b.requests, mortar: m.requests };
}
