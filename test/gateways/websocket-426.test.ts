/**
 * FastCGI, SCGI and CGI cannot carry a WebSocket: a webSocket() application behind them
 * answers a real handshake with 426 and a body that says why and what to do instead.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { serveSCGI } from '../../src/gateways/scgi/index.js';
import { application } from '../fixtures/websocket-app.js';
import { cgiParams, FastCGIClient, scgiRequest } from '../helpers/fastcgi-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
const options = { port: 0, handleSignals: false, announce: false, log: () => {} };

/** A browser's handshake, as CGI meta-variables. */
const HANDSHAKE = cgiParams('GET', '/chat', {
  HTTP_UPGRADE: 'websocket',
  HTTP_CONNECTION: 'Upgrade',
  HTTP_SEC_WEBSOCKET_KEY: 'dGhlIHNhbXBsZSBub25jZQ==',
  HTTP_SEC_WEBSOCKET_VERSION: '13',
});

function expect426(reply: string, gateway: string): void {
  expect(reply).toMatch(/^Status: 426\b/);
  expect(reply).toMatch(/^upgrade: websocket\r?$/im);
  expect(reply).toContain(
    `the ${gateway} gateway cannot carry a WebSocket: serve this application over HTTP`,
  );
}

it('FastCGI: a handshake gets 426 saying the gateway cannot carry it', async () => {
  const server = await serveFastCGI(application, options);
  closers.push(server.close);
  const client = await FastCGIClient.connect(Number(new URL(server.url).port));
  closers.push(() => client.close());
  client.request(1, HANDSHAKE);
  expect426((await client.reply(1)).stdout.toString(), 'fastcgi');
});

it('SCGI: a handshake gets 426 saying the gateway cannot carry it', async () => {
  const server = await serveSCGI(application, options);
  closers.push(server.close);
  const reply = await scgiRequest(Number(new URL(server.url).port), HANDSHAKE);
  expect426(reply.toString(), 'scgi');
});

it('CGI (mortar cgi): a handshake gets 426 saying the gateway cannot carry it', () => {
  const cgi = spawnSync(
    process.execPath,
    [path.join(root, 'bin/mortar.js'), 'cgi', 'test/fixtures/websocket-app.ts'],
    {
      cwd: root,
      env: { PATH: process.env.PATH, ...HANDSHAKE, GATEWAY_INTERFACE: 'CGI/1.1' },
      encoding: 'utf8',
    },
  );
  expect(cgi.status).toBe(0);
  expect426(cgi.stdout, 'cgi');
});
