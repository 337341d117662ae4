/**
 * WebSockets through the chain on Node (serve() from mortar/node, in this process), Deno (Deno.serve + toFetchHandler), Bun (Bun.serve +
 * toBunServe) and workerd (a Workers module bundled with esbuild), each installed from npm as a
 * devDependency. One chain (test/runtimes/websocket-app.ts) runs on all three: urlmap mounts an
 * echo at /ws behind a middleware that adds Set-Cookie and X-Chain, and one that answers
 * `?deny` with its own 401. The client is Node's (undici's WebSocket, node:http for the bytes of
 * the handshake's answer).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../../src/gateways/node/index.js';
import { freePort } from '../helpers/net.js';
import { bundleWorker } from '../helpers/workerd.js';
import { app } from '../runtimes/websocket-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => path.join(root, 'node_modules/.bin', name);
const env = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
const serveScript = path.join(root, 'test/runtimes/websocket-serve.ts');

interface Target {
  name: string;
  bin: string;
  /** Starts the server; resolves to its port once it answers, and how to stop it. */
  start(dir: string, output: (chunk: string) => void): Promise<{ stop(): void; port: number }>;
}

/** Runs `args` and waits for the `listening on PORT` line the serve script prints. */
function listening(
  command: string,
  args: string[],
  output: (chunk: string) => void,
): Promise<{ stop(): void; port: number }> {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (chunk) => output(String(chunk)));
    child.stdout!.on('data', (chunk) => {
      output(String(chunk));
      seen += chunk;
      const port = /listening on (\d+)/.exec(seen)?.[1];
      if (port) resolve({ stop: () => child.kill('SIGTERM'), port: Number(port) });
    });
    child.on('exit', (code) => reject(new Error(`${command} exited with ${code}`)));
  });
}

/** The worker bundled as README says (esbuild, neutral platform, node:* and cloudflare:* external). */
async function startWorkerd(dir: string, output: (chunk: string) => void) {
  await bundleWorker(
    path.join(root, 'test/runtimes/websocket-worker.ts'),
    path.join(dir, 'worker.js'),
  );
  writeFileSync(
    path.join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8000", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2026-11-01",
);
`,
  );
  const port = await freePort();
  const child = spawn(
    bin('workerd'),
    ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk) => output(String(chunk)));
  child.stderr!.on('data', (chunk) => output(String(chunk)));
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    if (await get(port, '/').catch(() => undefined)) {
      return { stop: () => child.kill('SIGTERM'), port };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('workerd did not answer');
}

const targets: Target[] = [
  {
    name: 'Node',
    bin: process.execPath,
    start: async () => {
      const server = await serve(app, { port: 0, announce: false });
      return {
        stop: () => void server.close().then(() => server.node.closeAllConnections()),
        port: Number(new URL(server.url).port),
      };
    },
  },
  {
    name: 'Deno',
    bin: bin('deno'),
    start: (_dir, output) =>
      listening(bin('deno'), ['run', '--sloppy-imports', '-A', serveScript], output),
  },
  {
    name: 'Bun',
    bin: bin('bun'),
    start: (_dir, output) => listening(bin('bun'), [serveScript], output),
  },
  { name: 'workerd', bin: bin('workerd'), start: startWorkerd },
];

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  upgraded: boolean;
}

/** A GET over node:http, as a handshake when `handshake`: the answer's head and body. */
function get(port: number, target: string, handshake = false): Promise<Answer> {
  const headers = handshake
    ? {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
      }
    : {};
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: target, headers, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers, body: '', upgraded: true });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body, upgraded: false }),
      );
    });
    req.on('error', reject);
  });
}

/** Opens a WebSocket, sends `messages` after the greeting, and collects what comes back. */
function converse(url: string, protocols: string[], messages: (string | Uint8Array)[]) {
  return new Promise<{ protocol: string; received: (string | number[])[] }>((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.binaryType = 'arraybuffer';
    const received: (string | number[])[] = [];
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no echo in 20 s: ${JSON.stringify(received)}`));
    }, 20_000);
    ws.onmessage = (event) => {
      const data = event.data as string | ArrayBuffer;
      received.push(typeof data === 'string' ? data : [...new Uint8Array(data)]);
      if (received.length === 1) for (const message of messages) ws.send(message);
      if (received.length === messages.length + 1) {
        clearTimeout(timer);
        resolve({ protocol: ws.protocol, received });
        ws.close(1000);
      }
    };
    ws.onerror = (event) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket error: ${(event as { message?: string }).message ?? 'failed'}`));
    };
  });
}

for (const target of targets) {
  const installed = existsSync(target.bin);
  const ci = process.env.CI === 'true';
  describe.skipIf(!installed && !ci)(
    `WebSockets on ${target.name} (npm install, or CI=true to fail)`,
    () => {
      let stop: (() => void) | undefined;
      let port = 0;
      let output = '';
      const dir = mkdtempSync(path.join(tmpdir(), 'mortar-ws-runtime-'));

      beforeAll(async () => {
        ({ stop, port } = await target.start(dir, (chunk) => {
          output += chunk;
        }));
      }, 120_000);

      afterAll(() => {
        stop?.();
        rmSync(dir, { recursive: true, force: true });
      });

      it('echoes text and binary at /ws through urlmap, with the subprotocol chosen', async () => {
        const { protocol, received } = await converse(
          `ws://127.0.0.1:${port}/ws/room`,
          ['echo.v1', 'echo.v2'],
          ['hello', new Uint8Array([0, 1, 2, 255])],
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${output}`);
        });
        expect(received).toEqual(['open at /ws', 'hello', [0, 1, 2, 255]]);
        expect(protocol).toBe('echo.v2');
        const wsx = await get(port, '/wsx', true);
        expect([wsx.status, wsx.upgraded]).toEqual([404, false]);
      }, 60_000);

      it("closes from the server's side with the code the application gave", async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
        let greeted = false;
        ws.onmessage = () => {
          if (greeted) return ws.send('bye'); // after the echo of a 10-byte UTF-8 message
          greeted = true;
          ws.send('h\u00e9llo\u{1f600}');
        };
        const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
          const timer = setTimeout(() => resolve({ code: 0, reason: 'no close in 20 s' }), 20_000);
          ws.onclose = (event) => {
            clearTimeout(timer);
            resolve({ code: event.code, reason: event.reason });
          };
        });
        expect(closed, output).toEqual({ code: 4001, reason: 'asked to leave' });
        // acceptedWebSocket(response, environ).closed, as an access log reads it.
        let seen: Record<string, unknown> = {};
        for (let i = 0; i < 100 && seen.code === undefined; i++) {
          seen = JSON.parse((await get(port, '/closed')).body) ?? {};
          if (seen.code === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // Payload bytes as UTF-8: 'héllo😀' is 10, 'bye' 3; sent: 'open at /ws' 11 and the echo.
        expect(seen).toMatchObject({ code: 4001, bytesReceived: 13, bytesSent: 21 });
      }, 30_000);

      it('sends the headers the chain added (Set-Cookie) on the 101, and no marker', async () => {
        const answer = await get(port, '/ws', true);
        expect(answer.status).toBe(101);
        expect(answer.headers['set-cookie']).toEqual(['seen=1; Path=/; HttpOnly']);
        expect(answer.headers['x-chain']).toBe('stamped');
        expect(answer.headers['x-mortar-websocket-accept']).toBeUndefined();
        expect(answer.headers['content-type']).toBeUndefined();
      }, 30_000);

      it("writes a middleware's 401 as is, and does not upgrade", async () => {
        const answer = await get(port, '/ws?deny', true);
        expect(answer.upgraded).toBe(false);
        expect(answer.status).toBe(401);
        expect(answer.headers['www-authenticate']).toBe('Bearer realm="ws"');
        expect(answer.headers['set-cookie']).toEqual(['seen=1; Path=/; HttpOnly']);
        expect(answer.body).toBe('who are you?\n');
      }, 30_000);
    },
  );
}
