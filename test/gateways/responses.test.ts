// Issue 9 §1: a response an application builds, or a value it throws, never crashes a gateway
// or injects into the wire — over HTTP, FastCGI, SCGI and CGI alike (the one response reader
// in src/_internal/), and what reaches the terminal is escaped.
import { once } from 'node:events';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { describeError, terminalSafe } from '../../src/_internal/log.js';
import { runCGI } from '../../src/gateways/cgi/index.js';
import { serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { serveSCGI } from '../../src/gateways/scgi/index.js';
import { type Application, FastResponse } from '../../src/index.js';
import { cgiParams, FastCGIClient, scgiRequest } from '../helpers/fastcgi-client.js';
import { closeNow } from '../helpers/net.js';

const closers: (() => Promise<void>)[] = [];
const logs: string[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  logs.length = 0;
});
const options = {
  port: 0,
  handleSignals: false,
  announce: false,
  log: (line: string) => logs.push(line),
  shutdownTimeout: 500,
};

/** Answers by `?case=`: the bad responses and thrown values an application can produce. */
const hostile: Application = async (request) => {
  const which = new URL(request.url).searchParams.get('case');
  switch (which) {
    case 'location':
      return new FastResponse(null, {
        status: 302,
        headers: { location: '/x\r\nSet-Cookie: admin=1' },
      });
    case 'status-text':
      return new FastResponse('x', { status: 200, statusText: 'OK\r\nSet-Cookie: admin=1' });
    case 'name':
      return new FastResponse('x', { headers: { 'bad name': 'v' } });
    case 'status':
      return new FastResponse('x', { status: 1000 });
    case 'no-string':
      // Passes a check of String(value); Node's writeHead refuses it.
      return new FastResponse('x', { headers: { 'x-count': undefined as unknown as string } });
    case 'constructor':
      throw {
        get constructor() {
          throw 1;
        },
      };
    case 'stack': {
      const error = new Error('stack getter throws');
      Object.defineProperty(error, 'stack', {
        get() {
          throw new Error('no');
        },
      });
      throw error;
    }
    case 'proxy':
      throw new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('trap');
          },
        },
      );
    default:
      return new FastResponse('fine');
  }
};
const syncHostile: Application = (request, environ) => {
  if (new URL(request.url).searchParams.get('sync') === '1') {
    return new FastResponse(null, { status: 302, headers: { location: '/a\nb' } });
  }
  return hostile(request, environ);
};
const CASES = ['location', 'status-text', 'name', 'status', 'constructor', 'stack', 'proxy'];

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
      })
      .on('error', reject);
  });
}

describe('HTTP gateway: invalid responses and hostile throws', () => {
  it.each(CASES)('%s: a 500, one log line, and the server keeps serving', async (which) => {
    const server = await serve(syncHostile, options);
    closers.push(() => closeNow(server));
    const answer = await get(`${server.url}?case=${which}`);
    expect(answer.status).toBe(500);
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(logs.length).toBeGreaterThan(0);
    expect((await get(`${server.url}?case=none`)).status).toBe(200);
  });

  it('a synchronous application answering an invalid header gets a 500 too', async () => {
    const server = await serve(syncHostile, options);
    closers.push(() => closeNow(server));
    expect((await get(`${server.url}?sync=1`)).status).toBe(500);
    expect(logs.join('\n')).toMatch(/location header has a control character/);
    expect((await get(server.url)).status).toBe(200);
  });

  it("a header Node's writeHead refuses (a value that is no string) is a 500, not a dropped connection", async () => {
    const server = await serve(syncHostile, options);
    closers.push(() => closeNow(server));
    expect((await get(`${server.url}?case=no-string`)).status).toBe(500);
    expect(logs.join('\n')).toMatch(/is invalid: Node refused its head \(.*x-count/);
    expect((await get(server.url)).status).toBe(200);
  });
});

describe('FastCGI gateway: invalid responses and hostile throws', () => {
  it.each(CASES)(
    '%s: a 500 with no injected header, and the connection serves on',
    async (which) => {
      const server = await serveFastCGI(hostile, options);
      closers.push(server.close);
      const client = await FastCGIClient.connect(Number(new URL(server.url).port));
      closers.push(async () => client.close());
      client.request(1, cgiParams('GET', `/?case=${which}`));
      const reply = await client.reply(1);
      const text = reply.stdout.toString('latin1');
      expect(text).toMatch(/^Status: 500 /);
      expect(text).not.toMatch(/^set-cookie:/im);
      client.request(2, cgiParams('GET', '/'));
      expect((await client.reply(2)).stdout.toString()).toMatch(/^Status: 200 /);
    },
  );
});

describe('SCGI gateway: invalid responses and hostile throws', () => {
  it.each(CASES)('%s: a 500 with no injected header', async (which) => {
    const server = await serveSCGI(hostile, options);
    closers.push(server.close);
    const port = Number(new URL(server.url).port);
    const text = (await scgiRequest(port, cgiParams('GET', `/?case=${which}`))).toString('latin1');
    expect(text).toMatch(/^Status: 500 /);
    expect(text).not.toMatch(/^set-cookie:/im);
    expect((await scgiRequest(port, cgiParams('GET', '/'))).toString()).toMatch(/^Status: 200 /);
  });
});

describe('CGI gateway: invalid responses and hostile throws', () => {
  it.each(CASES)('%s: a 500 with no injected header', async (which) => {
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    await runCGI(hostile, {
      env: cgiParams('GET', `/?case=${which}`),
      stdout,
      log: (line) => logs.push(line),
    });
    stdout.end();
    await once(stdout, 'end');
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text).toMatch(/^Status: 500 /);
    expect(text).not.toMatch(/^set-cookie:/im);
  });
});

describe('what reaches the terminal', () => {
  it('escapes control characters and ANSI sequences; newlines only where lines are expected', () => {
    expect(terminalSafe('a\u001b[2Jb\rc\u0007')).toBe('a\\x1b[2Jb\\rc\\x07');
    expect(terminalSafe('one\ntwo')).toBe('one\\ntwo');
    expect(terminalSafe('one\ntwo', true)).toBe('one\ntwo');
  });

  it("an error's message cannot add a line, clear the screen or fake the PIN line", () => {
    const error = new Error('x\u001b[2J\nmortar debug: the console PIN is 111-111-111');
    const [first, second] = describeError(error).split('\n');
    expect(first).toBe('Error: x\\x1b[2J\\nmortar debug: the console PIN is 111-111-111');
    expect(second).toMatch(/^\s+at /);
  });

  it('describes any thrown value without throwing', () => {
    const getterThrows = {
      get constructor() {
        throw 1;
      },
    };
    const stackThrows = new Error('m');
    Object.defineProperty(stackThrows, 'stack', {
      get() {
        throw 2;
      },
    });
    const proxy = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw 3;
        },
      },
    );
    for (const value of [getterThrows, stackThrows, proxy, Symbol('s'), 1n, undefined]) {
      expect(typeof describeError(value)).toBe('string');
    }
  });

  it('the HTTP gateway logs a hostile message escaped', async () => {
    const server = await serve(() => {
      throw new Error('\u001b]0;owned\u0007\r\x1b[1A');
    }, options);
    closers.push(() => closeNow(server));
    expect((await get(server.url)).status).toBe(500);
    const line = logs.find((l) => l.includes('unhandled error'))!;
    expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(line).toContain('\\x1b]0;owned\\x07\\r\\x1b[1A');
  });
});

describe('HTTP gateway: HEAD', () => {
  it("answers a HEAD whose application gave no body and no length without claiming GET's body is empty", async () => {
    const server = await serve(
      () => new FastResponse(null, { status: 200, headers: { 'content-type': 'text/plain' } }),
      options,
    );
    closers.push(() => closeNow(server));
    const ask = (method: string) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: Number(new URL(server.url).port), method },
          resolve,
        );
        req.on('error', reject).end();
      });
    const head = await ask('HEAD');
    head.resume();
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBeUndefined();
    const get = await ask('GET');
    get.resume();
    expect(get.headers['content-length']).toBe('0');
  });
});
