/**
 * Real front ends for the gateway tests: nginx and lighttpd, started as the current user
 * with configurations written to a temporary folder, on free loopback ports.
 *
 * Without them installed the tests skip with a message (`apt-get install -y nginx lighttpd`);
 * under CI=true they must run and fail.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, which } from './net.js';

export const nginxBinary =
  which('nginx') ?? (which('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
export const lighttpdBinary =
  which('lighttpd') ?? (which('/usr/sbin/lighttpd') ? '/usr/sbin/lighttpd' : undefined);
export const frontEndsAvailable =
  (nginxBinary !== undefined && lighttpdBinary !== undefined) || process.env.CI === 'true';
export const frontEndsSkipReason =
  'nginx and lighttpd are not installed: `apt-get install -y nginx lighttpd` (or run with CI=true to make this a failure)';

/** A temporary folder readable by a front end's worker user (nginx drops root). */
export function workspace(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-frontend-'));
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FrontEnd {
  /** `http://127.0.0.1:PORT` for each port asked for, in order. */
  urls: string[];
  stop(): Promise<void>;
}

async function waitUntilUp(url: string, child: ChildProcess, log: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    const up = await fetch(url).then(
      () => true,
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  let errors = '';
  try {
    errors = readFileSync(log, 'utf8');
  } catch {}
  throw new Error(`the front end did not start on ${url}:\n${errors}`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

/**
 * Starts nginx with one `server` block per entry of `servers` (each the inside of a block,
 * where `LISTEN` is replaced by its `listen` directive), and `http` added to the http block
 * (its `PORT0`, `PORT1`, … replaced by free ports: `http` may hold whole server blocks), and
 * `main` to the main context (a bench's `worker_cpu_affinity`).
 */
export async function startNginx(
  dir: string,
  servers: string[],
  http = '',
  main = '',
): Promise<FrontEnd> {
  if (!nginxBinary) throw new Error(`CI=true but ${frontEndsSkipReason}`);
  const prefix = path.join(dir, 'nginx');
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  // A port for each server, and for each PORTn the http text names (a whole server block).
  const named = Math.max(0, ...[...http.matchAll(/\bPORT(\d+)\b/g)].map((m) => Number(m[1]) + 1));
  const ports = await Promise.all(
    Array.from({ length: Math.max(servers.length, named) }, () => freePort()),
  );
  const httpText = http.replace(/\bPORT(\d+)\b/g, (_, i: string) => String(ports[Number(i)]));
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
${main}
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_max_body_size 20m;
${httpText}
${servers.map((body, i) => `  server {\n    ${body.replaceAll('LISTEN', `listen 127.0.0.1:${ports[i]};`)}\n  }`).join('\n')}
}
`,
  );
  const child = spawn(nginxBinary, ['-p', prefix, '-c', conf], { stdio: 'ignore' });
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  await waitUntilUp(urls[0]!, child, path.join(prefix, 'logs/error.log'));
  return { urls, stop: stopper(child) };
}

/**
 * Starts lighttpd 1.4 with `config` (its `server.port` and `$SERVER["socket"]` blocks use
 * `PORT0`, `PORT1`, … which are replaced by free ports).
 */
export async function startLighttpd(dir: string, config: string, portCount = 1): Promise<FrontEnd> {
  if (!lighttpdBinary) throw new Error(`CI=true but ${frontEndsSkipReason}`);
  const root = path.join(dir, 'lighttpd');
  mkdirSync(path.join(root, 'htdocs'), { recursive: true });
  const ports = await Promise.all(Array.from({ length: portCount }, () => freePort()));
  let text = config;
  ports.forEach((port, i) => {
    text = text.replaceAll(`PORT${i}`, String(port));
  });
  const conf = path.join(root, 'lighttpd.conf');
  const log = path.join(root, 'error.log');
  writeFileSync(
    conf,
    `server.document-root = "${root}/htdocs"
server.bind = "127.0.0.1"
server.pid-file = "${root}/lighttpd.pid"
server.errorlog = "${log}"
server.max-request-size = 20480
server.stream-response-body = 2
${text}
`,
  );
  const child = spawn(lighttpdBinary, ['-D', '-f', conf], { stdio: 'ignore' });
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  await waitUntilUp(urls[0]!, child, log);
  return { urls, stop: stopper(child) };
}
