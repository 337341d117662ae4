// waitUntil() in the gateways that are not serve() (test/e2e/wait-until covers serve() with
// SIGTERM): a graceful close of serveSCGI and serveFastCGI, and runCGI, wait for the tasks
// their requests gave it.
import { once } from 'node:events';
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCGI } from '../../src/gateways/cgi/index.js';
import { serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { serveSCGI } from '../../src/gateways/scgi/index.js';
import { type Application, FastResponse, waitUntil } from '../../src/index.js';
import { cgiParams, FastCGIClient, scgiRequest } from '../helpers/fastcgi-client.js';

/** An application whose every request leaves a task that ends at `release()`. */
function withTask(): { app: Application; release: () => void; finished: () => boolean } {
  let release!: () => void;
  let finished = false;
  const task = new Promise<void>((resolve) => {
    release = resolve;
  }).then(() => {
    finished = true;
  });
  const app: Application = (_request, environ) => {
    waitUntil(environ, task);
    return new FastResponse('accepted');
  };
  return { app, release, finished: () => finished };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const options = { port: 0, handleSignals: false, announce: false, log: () => {} };

/** Whether `promise` has settled by the next turn of the event loop. */
async function settledSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await nextTurn();
  await nextTurn();
  return settled;
}

/** Closes `server`: drained, it waits for the task; released, it closes. */
async function closesAfterTask(
  server: { node: unknown; close(): Promise<void> },
  release: () => void,
  finished: () => boolean,
): Promise<void> {
  const drained = once(server.node as net.Server, 'close');
  const closed = server.close();
  await drained;
  expect(await settledSoon(closed)).toBe(false);
  release();
  await closed;
  expect(finished()).toBe(true);
}

describe('waitUntil() and the CGI family', () => {
  it("serveSCGI's close() resolves once the task has settled", async () => {
    const { app, release, finished } = withTask();
    const server = await serveSCGI(app, options);
    const port = Number(new URL(server.url).port);
    expect((await scgiRequest(port, cgiParams('GET', '/'))).toString()).toMatch(/accepted$/);
    await closesAfterTask(server, release, finished);
  });

  it("serveFastCGI's close() resolves once the task has settled", async () => {
    const { app, release, finished } = withTask();
    const server = await serveFastCGI(app, options);
    const client = await FastCGIClient.connect(Number(new URL(server.url).port));
    client.request(1, cgiParams('GET', '/'), Buffer.alloc(0), false);
    await client.closed;
    expect(client.replies.get(1)?.stdout.toString()).toMatch(/accepted$/);
    await closesAfterTask(server, release, finished);
  });

  it('runCGI resolves once the task has settled, after writing the response', async () => {
    const { app, release, finished } = withTask();
    const stdout = new PassThrough();
    let written = '';
    stdout.on('data', (chunk: Buffer) => {
      written += chunk;
    });
    const ran = runCGI(app, { env: cgiParams('GET', '/'), stdout, log: () => {} });
    while (!written.endsWith('accepted')) await nextTurn();
    expect(await settledSoon(ran)).toBe(false);
    release();
    await ran;
    expect(finished()).toBe(true);
  });
});
