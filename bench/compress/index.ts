/**
 * `npm run bench:compress`: compressing a JSON response, 1 KiB and 100 KiB, gzip and br —
 * mortar's `compress()` beside Hono's `compress` (gzip only on Node: CompressionStream has no
 * br) and express's `compression`, at each one's default level (gzip 6 for all; br 4 for
 * mortar, compression's default for express), each server in its own process, runs
 * interleaved; req/s and bytes per response.
 *
 * Environment: BENCH_RUNS, BENCH_SECONDS, BENCH_CONNECTIONS (see ../lib.ts).
 */
import http from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { connections, loader, measure, runs, seconds, startServer } from '../lib.js';
import { bodies } from './bodies.js';

/** The bytes as sent (fetch would decode them) and their Content-Encoding. */
function rawGet(
  url: string,
  coding: string,
): Promise<{ raw: Buffer; encoding: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': coding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ raw: Buffer.concat(chunks), encoding: res.headers['content-encoding'] }),
        );
      })
      .on('error', reject);
  });
}

const names = ['mortar', 'hono', 'compression'] as const;
const script = new URL('./servers.ts', import.meta.url);
const running = await Promise.all(names.map((name) => startServer(script, name)));

interface Case {
  size: '/1k' | '/100k';
  coding: 'gzip' | 'br';
  server: number;
}
const cases: Case[] = [];
for (const size of ['/1k', '/100k'] as const) {
  for (const coding of ['gzip', 'br'] as const) {
    for (const server of names.keys()) {
      if (!(names[server] === 'hono' && coding === 'br')) cases.push({ size, coding, server });
    }
  }
}

try {
  // Bytes out, checked: every server's response decodes to the same body.
  const sizes = new Map<Case, string>();
  for (const c of cases) {
    const { raw, encoding } = await rawGet(running[c.server]!.url + c.size, c.coding);
    const decoded =
      encoding === 'br' ? brotliDecompressSync(raw) : encoding === 'gzip' ? gunzipSync(raw) : raw;
    if (decoded.toString() !== bodies[c.size])
      throw new Error(`${names[c.server]} ${c.size} ${c.coding}: wrong body`);
    sizes.set(c, `${raw.length} (${encoding ?? 'identity'})`);
  }
  const results = await measure(
    cases.map((c) => ({
      url: running[c.server]!.url + c.size,
      headers: { 'accept-encoding': c.coding },
    })),
  );
  console.log(
    `\nmedian of ${runs} runs × ${seconds} s, ${connections} connections, ${loader}, Node ${process.version}\n`,
  );
  console.log('| body | coding | server | req/s | bytes out | × best peer |');
  console.log('|---|---|---|---:|---:|---:|');
  for (const [index, c] of cases.entries()) {
    const peers = cases
      .map((other, i) => ({ other, i }))
      .filter(
        ({ other }) => other.size === c.size && other.coding === c.coding && other.server !== 0,
      );
    const best = Math.max(...peers.map(({ i }) => results[i]!.requests));
    const ratio = c.server === 0 ? (results[index]!.requests / best).toFixed(2) : '';
    console.log(
      `| ${c.size.slice(1)} | ${c.coding} | ${names[c.server]} | ${Math.round(results[index]!.requests)} | ${sizes.get(c)} | ${ratio} |`,
    );
  }
  console.log('\ntarget: mortar ≥ 1.0 × the better peer in each row group');
} finally {
  for (const { child } of running) child.kill();
}
