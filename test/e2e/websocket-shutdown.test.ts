/**
 * Open WebSockets when a server stops: SIGTERM and `server.close()` close them with 1001
 * (going away) and terminate those that never answer the close frame; `--workers`' SIGHUP
 * closes the old workers' sockets with 1012 (service restart); in-flight HTTP still drains and
 * the process exits 0.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { webSocket } from '../../middleware/websocket/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { application } from '../fixtures/websocket-app.js';
import { freePort } from '../helpers/net.js';
import { closeFrame, connect, rawWebSocket } from '../helpers/ws-client.js';
import { run } from './cli-run.js';

const APP = 'test/fixtures/websocket-app.ts';

/** GET on a fresh connection: the body, or a rejection. */
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** Resolves once `output()` matches `pattern`. */
async function waitFor(output: () => string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 400 && !pattern.test(output()); i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!pattern.test(output())) throw new Error(`no ${pattern} in:\n${output()}`);
}

async function startCli(args: string[]) {
  const port = await freePort();
  const started = run(['serve', APP, '--port', String(port), ...args]);
  await waitFor(started.output, args.includes('--workers') ? /workers serving/ : /serving /);
  return { ...started, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

describe('WebSockets at shutdown', () => {
  it('mortar serve: SIGTERM closes open sockets with 1001, finishes in-flight HTTP, exits 0', async () => {
    const server = await startCli([]);
    const sockets = await Promise.all([connect(`${server.ws}/a`), connect(`${server.ws}/b`)]);
    expect(await sockets[0]!.ask('hello')).toBe('hello');
    const slow = get(`${server.http}/slow?ms=600`);
    await waitFor(server.output, /slow: started/);
    server.child.kill('SIGTERM');
    for (const socket of sockets) {
      expect(await socket.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    }
    expect(await slow).toBe('slow');
    expect(await server.exit).toBe(0);
  });

  it('server.close(): a client that never answers the close frame is cut off at the shutdown timeout', async () => {
    const server = await serve(application, {
      port: 0,
      handleSignals: false,
      announce: false,
      shutdownTimeout: 300,
      log: () => {},
    });
    const silent = await rawWebSocket(server.url);
    const polite = await connect(server.url.replace('http', 'ws'));
    await server.close();
    await silent.ended; // closed by the server: close() has not waited for the client
    expect(closeFrame(silent.received())).toEqual({ code: 1001, reason: 'server shutting down' });
    expect((await polite.closed).code).toBe(1001);
  });

  it('server.close(): a handshake in flight when the shutdown begins opens, then gets 1001', async () => {
    let started!: () => void;
    const inHandshake = new Promise<void>((resolve) => {
      started = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = webSocket(async () => {
      started();
      await released;
      return {
        message: (peer, message) => {
          peer.send(message.text());
        },
      };
    });
    const server = await serve(slow, {
      port: 0,
      handleSignals: false,
      announce: false,
      shutdownTimeout: 5000,
      log: () => {},
    });
    const opening = connect(server.url.replace('http', 'ws'));
    await inHandshake;
    const closing = server.close();
    release();
    const late = await opening;
    expect(await late.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    await closing;
  });

  it('--workers 2: SIGTERM closes every worker’s sockets with 1001 and exits 0', async () => {
    const server = await startCli(['--workers', '2']);
    const sockets = await Promise.all(
      Array.from({ length: 4 }, (_, i) => connect(`${server.ws}/${i}`)),
    );
    server.child.kill('SIGTERM');
    for (const socket of sockets) expect((await socket.closed).code).toBe(1001);
    expect(await server.exit).toBe(0);
  });

  it('--workers 2: SIGHUP closes the old workers’ sockets with 1012, and the new ones serve', async () => {
    const server = await startCli(['--workers', '2']);
    const old = await connect(`${server.ws}/`);
    const oldPid = await old.ask('pid');
    server.child.kill('SIGHUP');
    expect(await old.closed).toEqual({ code: 1012, reason: 'server restarting' });
    await waitFor(server.output, /SIGHUP: 2 workers replaced/);
    const fresh = await connect(`${server.ws}/`);
    expect(await fresh.ask('pid')).not.toBe(oldPid);
    expect(await fresh.ask('still here')).toBe('still here');
    server.child.kill('SIGTERM');
    expect((await fresh.closed).code).toBe(1001);
    expect(await server.exit).toBe(0);
  });
});
