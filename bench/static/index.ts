/**
 * `npm run bench:static`: a 1 KiB and a 1 MiB file through mortar's serveStatic, sirv,
 * serve-static (express), Hono's serveStatic on @hono/node-server, and nginx (the practical
 * limit; skipped with a message when it is not installed: `apt-get install -y nginx`).
 * Every Node server runs in its own process with NODE_ENV=production; nginx with one worker
 * and sendfile, as a single Node process is compared with it. Reported: req/s, MB/s and
 * ratios to sirv and nginx, medians of BENCH_RUNS interleaved runs.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FrontEnd, nginxBinary, startNginx } from '../../test/helpers/frontends.js';
import { connections, loader, measure, runs, seconds, startServer } from '../lib.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mortar-bench-static-'));
chmodSync(dir, 0o755); // nginx's workers run as another user when started by root
const files = { '1 KiB': 'small.bin', '1 MiB': 'large.bin' } as const;
writeFileSync(path.join(dir, files['1 KiB']), randomBytes(1024));
writeFileSync(path.join(dir, files['1 MiB']), randomBytes(1024 * 1024));

const names = ['mortar', 'sirv', 'serve-static', 'hono'];
const script = new URL('./servers.ts', import.meta.url);
const running: { name: string; child: ChildProcess | undefined; url: string }[] = [];
let nginx: FrontEnd | undefined;
try {
  for (const name of names) running.push({ name, ...(await startServer(script, name, {}, [dir])) });
  if (nginxBinary) {
    // One worker and sendfile, as a single Node process is compared with it.
    nginx = await startNginx(
      dir,
      [`LISTEN root ${dir};`],
      'sendfile on; tcp_nopush on; keepalive_requests 100000;',
    );
    running.push({ name: 'nginx', child: undefined, url: nginx.urls[0]! });
  } else console.log('nginx is not installed (apt-get install -y nginx): its column is left out');

  console.log(
    `\nmedian of ${runs} runs × ${seconds} s, ${connections} connections, ${loader}, Node ${process.version}`,
  );
  for (const [size, file] of Object.entries(files)) {
    const results = await measure(running.map((r) => `${r.url}/${file}`));
    const byName = new Map(running.map((r, index) => [r.name, results[index]!]));
    const sirv = byName.get('sirv')!.requests;
    const nginxRate = byName.get('nginx')?.requests;
    console.log(
      `\n${size}\n\n| server | req/s | MB/s | × sirv | × nginx |\n|---|---:|---:|---:|---:|`,
    );
    for (const [name, result] of byName) {
      const vsNginx = nginxRate ? (result.requests / nginxRate).toFixed(2) : '–';
      console.log(
        `| ${name} | ${Math.round(result.requests)} | ${(result.bytes / 1e6).toFixed(1)} | ${(result.requests / sirv).toFixed(2)} | ${vsNginx} |`,
      );
    }
  }
} finally {
  for (const { child } of running) child?.kill();
  await nginx?.stop();
  rmSync(dir, { recursive: true, force: true });
}
