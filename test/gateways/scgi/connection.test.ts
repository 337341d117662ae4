// Issue 9 §2: SCGI connections always close — after a request whose body was not read, and
// when a peer connects and says nothing.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveSCGI } from '../../../src/gateways/scgi/index.js';
import { FastResponse } from '../../../src/index.js';
import { cgiParams, scgiRequest } from '../../helpers/fastcgi-client.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
const options = {
  port: 0,
  handleSignals: false,
  announce: false,
  log: () => {},
  shutdownTimeout: 200,
};

const connections = (server: net.Server) =>
  new Promise<number>((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );

async function until(check: () => Promise<boolean>, timeout = 3000): Promise<boolean> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe('SCGI connections', () => {
  it('close after a response to a request whose large body was not read', async () => {
    const server = await serveSCGI(() => new FastResponse('no', { status: 403 }), options);
    closers.push(server.close);
    const port = Number(new URL(server.url).port);
    const body = Buffer.alloc(512 * 1024, 1);
    for (let i = 0; i < 5; i++) {
      const reply = await scgiRequest(port, cgiParams('POST', '/'), body);
      expect(reply.toString()).toMatch(/^Status: 403/);
    }
    expect(await until(async () => (await connections(server.node)) === 0)).toBe(true);
  });

  it.each([
    'idleTimeoutMs',
    'idleTimeout', // its deprecated name
  ])('close a connection that sends nothing within %s', async (name) => {
    const server = await serveSCGI(() => new FastResponse('x'), { ...options, [name]: 200 });
    closers.push(server.close);
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      socket.once('close', () => resolve(Date.now() - started));
    });
    expect(await closed).toBeLessThan(2000);
  });
});
