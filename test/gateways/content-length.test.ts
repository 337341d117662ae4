/**
 * RFC 3875 §4.2: the CGI family never reads a request body past `CONTENT_LENGTH`, and a body
 * that ends short of it is an error, not a shorter body. Each gateway under the limit
 * `mortar serve --max-body-size 1000` applies (limitRequestBody), spoken to as a front end would.
 */
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { limitRequestBody } from '../../src/_internal/body-limit.js';
import { runCGI } from '../../src/gateways/cgi/index.js';
import { type FastCGIOptions, serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { encodeRecord, STDIN } from '../../src/gateways/fastcgi/records.js';
import { serveSCGI } from '../../src/gateways/scgi/index.js';
import type { Application } from '../../src/index.js';
import { cgiParams, FastCGIClient, scgiRequest } from '../helpers/fastcgi-client.js';

/** Reads the whole body and says how many bytes it got, or why it could not. */
const reader: Application = async (request) => {
  try {
    return new Response(`read ${(await request.arrayBuffer()).byteLength}`);
  } catch (error) {
    return new Response(`failed: ${(error as Error).message}`, { status: 400 });
  }
};
const limited = limitRequestBody(reader, 1000, '--max-body-size');

const closers: (() => Promise<void> | void)[] = [];
const logs: string[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  logs.length = 0;
});

const post = (length: number) => cgiParams('POST', '/upload', { CONTENT_LENGTH: String(length) });
const bodyOf = (reply: Buffer) => reply.toString('latin1').split('\r\n\r\n')[1];

async function fastcgi(): Promise<FastCGIClient> {
  const server = await serveFastCGI(limited, {
    port: 0,
    handleSignals: false,
    announce: false,
    log: (line) => logs.push(line),
  } as FastCGIOptions);
  closers.push(server.close);
  const client = await FastCGIClient.connect(Number(new URL(server.url).port));
  closers.push(() => client.close());
  return client;
}

describe('FastCGI: STDIN is the body only up to CONTENT_LENGTH', () => {
  it('CONTENT_LENGTH=10 then 5,000 bytes of STDIN: the application gets 10', async () => {
    const client = await fastcgi();
    client.request(1, post(10), Buffer.alloc(5000, 0x61));
    expect(bodyOf((await client.reply(1)).stdout)).toBe('read 10');
    expect(logs.join('\n')).toMatch(/request 1 sent STDIN past its CONTENT_LENGTH; 4990 bytes/);
    // The connection goes on: the next request on it is read from the right record.
    client.request(2, post(3), Buffer.from('abc'));
    expect(bodyOf((await client.reply(2)).stdout)).toBe('read 3');
  });

  it('the length is counted across records, and STDIN past it in later records is dropped', async () => {
    const client = await fastcgi();
    client.request(1, post(1500), null);
    for (let i = 0; i < 5; i++) client.send(encodeRecord(STDIN, 1, Buffer.alloc(1000, 0x62)));
    client.send(encodeRecord(STDIN, 1));
    // 1,500 declared over a 1,000 limit: refused before a byte is read.
    expect(bodyOf((await client.reply(1)).stdout)).toMatch(/over the limit of 1000 bytes/);
    client.request(2, post(900), null);
    for (let i = 0; i < 5; i++) client.send(encodeRecord(STDIN, 2, Buffer.alloc(400, 0x62)));
    client.send(encodeRecord(STDIN, 2));
    expect(bodyOf((await client.reply(2)).stdout)).toBe('read 900');
  });

  it('STDIN that ends short of CONTENT_LENGTH fails the read', async () => {
    const client = await fastcgi();
    client.request(1, post(100), Buffer.alloc(10, 0x63));
    expect(bodyOf((await client.reply(1)).stdout)).toBe(
      'failed: the request body ended 90 bytes short of its CONTENT_LENGTH',
    );
  });

  it('a CONTENT_LENGTH that is not a number of bytes is a 400', async () => {
    const client = await fastcgi();
    client.request(1, cgiParams('POST', '/', { CONTENT_LENGTH: '-1' }), Buffer.alloc(10));
    const text = (await client.reply(1)).stdout.toString('latin1');
    expect(text).toMatch(/^Status: 400 /);
    expect(text).toMatch(/CONTENT_LENGTH is not a whole number of bytes/);
  });
});

describe('SCGI and CGI: the same rule', () => {
  it('SCGI: CONTENT_LENGTH=10 then 5,000 bytes gives the application 10', async () => {
    const server = await serveSCGI(limited, { port: 0, handleSignals: false });
    closers.push(server.close);
    const port = Number(new URL(server.url).port);
    const reply = await scgiRequest(port, post(10), Buffer.alloc(5000, 0x61));
    expect(bodyOf(reply)).toBe('read 10');
  });

  it('CGI: CONTENT_LENGTH=10 then 5,000 bytes on stdin gives 10; a short stdin fails', async () => {
    const run = async (length: number, stdin: Buffer) => {
      const stdout = new PassThrough();
      const chunks: Buffer[] = [];
      stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      await runCGI(limited, { env: post(length), stdin: Readable.from([stdin]), stdout });
      stdout.end();
      await once(stdout, 'end');
      return bodyOf(Buffer.concat(chunks));
    };
    expect(await run(10, Buffer.alloc(5000, 0x61))).toBe('read 10');
    expect(await run(100, Buffer.alloc(10, 0x61))).toBe(
      'failed: the request body ended 90 bytes short of its CONTENT_LENGTH',
    );
  });
});
