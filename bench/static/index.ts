/**
 * `npm run bench:static`: a 1 KiB and a 1 MiB file through mortar's serveStatic, sirv,
 * serve-static (express), Hono's serveStatic on @hono/node-server, and nginx (the practical
 * limit; skipped with a message when it is not installed: `apt-get install -y nginx`).
 * Every Node server runs in its own process with NODE_ENV=production; nginx with one worker
 * and sendfile, as a single Node process is compared with it. Reported: req/s, MB/s and
 * ratios to sirv and nginx, medians of BENCH_RUNS interleaved runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, which } from '../../test/helpers/net.js';
import { connections, loader, measure, runs, seconds, startServer } from '../lib.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mortar-bench-static-'));
chmodSync(dir, 0o755); // nginx's workers run as another user when started by root
const files = { '1 KiB': 'small.bin', '1 MiB': 'large.bin' } as const;
writeFileSync(path.join(dir, files['1 KiB']), randomBytes(1024));
writeFileSync(path.join(dir, files['1 MiB']), randomBytes(1024 * 1024));

function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx'])
    if (existsSync(candidate)) return candidate;
  return which('nginx');
}

async function startNginx(binary: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const prefix = path.join(dir, 'nginx');
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dir};
  }
}
`,
  );
  const child = spawn(binary, ['-p', prefix, '-c', conf], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${url}/${files['1 KiB']}`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { child, url };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('nginx did not start');
}

const names = ['mortar', 'sirv', 'serve-static', 'hono'];
const script = new URL('./servers.ts', import.meta.url);
const running: { name: string; child: ChildProcess; url: string }[] = [];
try {
  for (const name of names) running.push({ name, ...(await startServer(script, name, {}, [dir])) });
  const nginx = findNginx();
  if (nginx) running.push({ name: 'nginx', ...(await startNginx(nginx)) });
  else console.log('nginx is not installed (apt-get install -y nginx): its column is left out');

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
  for (const { child } of running) child.kill();
  rmSync(dir, { recursive: true, force: true });
}
