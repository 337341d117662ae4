// Issue 9 §2: the FastCGI connection against a hostile or careless peer, driven record by
// record (test/helpers/fastcgi-client.ts), without a front end.
import { afterEach, describe, expect, it } from 'vitest';
import { bodyLimit } from '../../../middleware/body-limit/index.js';
import { type FastCGIOptions, serveFastCGI } from '../../../src/gateways/fastcgi/index.js';
import {
  BEGIN_REQUEST,
  decodePairs,
  encodePairs,
  encodeRecord,
  GET_VALUES,
  GET_VALUES_RESULT,
  PARAMS,
  STDIN,
} from '../../../src/gateways/fastcgi/records.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { cgiParams, FastCGIClient } from '../../helpers/fastcgi-client.js';

const closers: (() => Promise<void> | void)[] = [];
const logs: string[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  logs.length = 0;
});

async function start(app: Application, options: FastCGIOptions = {}) {
  const server = await serveFastCGI(app, {
    port: 0,
    handleSignals: false,
    announce: false,
    log: (line) => logs.push(line),
    shutdownTimeout: 200,
    ...options,
  } as FastCGIOptions);
  closers.push(server.close);
  const port = Number(new URL(server.url).port);
  const connect = async () => {
    const client = await FastCGIClient.connect(port);
    closers.push(() => client.close());
    return client;
  };
  return { server, connect };
}

const ok: Application = () => new FastResponse('ok');
const status = (reply: { stdout: Buffer }) => /^Status: (\d+)/.exec(reply.stdout.toString())?.[1];

describe('a kept-alive connection after a request whose body was not read', () => {
  it('serves the next request at once', async () => {
    const { connect } = await start(async (request) => {
      if (new URL(request.url).pathname !== '/upload') return new FastResponse('next');
      await new Promise((r) => setTimeout(r, 200)); // a session lookup, say: the body queue fills
      return new FastResponse('no', { status: 401 });
    });
    const client = await connect();
    const body = Buffer.alloc(2 * 1024 * 1024, 1);
    client.request(1, cgiParams('POST', '/upload', { CONTENT_LENGTH: String(body.length) }), body);
    expect(status(await client.reply(1))).toBe('401');
    client.request(2, cgiParams('GET', '/next'));
    const next = await client.reply(2, 2000);
    expect(next.stdout.toString()).toMatch(/next$/);
  });
});

describe('a request body under a limit', () => {
  const reader: Application = async (request) =>
    new FastResponse(`read ${(await request.text()).length}`);

  it('never lets more than the limit through, whatever length a header claims', async () => {
    const { connect } = await start(bodyLimit({ maxBytes: 10 })(reader));
    const client = await connect();
    // No CONTENT_LENGTH (a chunked upload nginx streams unbuffered): STDIN to its end, and a
    // client header that claims 5 bytes.
    const claims = cgiParams('POST', '/upload', { HTTP_CONTENT_LENGTH: '5' });
    client.request(1, claims, Buffer.alloc(100, 1));
    expect(status(await client.reply(1))).toBe('413');
    client.request(2, cgiParams('POST', '/upload', { CONTENT_LENGTH: '8' }), Buffer.alloc(8, 1));
    expect((await client.reply(2)).stdout.toString()).toMatch(/read 8$/);
  });
});

describe('malformed records close their own connection only', () => {
  const cases: [string, Buffer][] = [
    ['a BEGIN_REQUEST shorter than 8 bytes', encodeRecord(BEGIN_REQUEST, 1, Buffer.alloc(4))],
    [
      'a GET_VALUES with a cut name-value pair',
      encodeRecord(GET_VALUES, 0, encodePairs({ FCGI_MAX_CONNS: '' }).subarray(0, 5)),
    ],
  ];
  it.each(cases)('%s', async (_, record) => {
    const { connect } = await start(ok);
    const bad = await connect();
    bad.send(record);
    await bad.closed;
    expect(logs.join('\n')).toMatch(/malformed record/);
    const good = await connect();
    good.request(1, cgiParams('GET', '/'));
    expect(status(await good.reply(1))).toBe('200');
  });

  it('a BEGIN_REQUEST for a request still running closes the connection', async () => {
    const { connect } = await start(() => new Promise<Response>(() => {}));
    const client = await connect();
    client.request(1, cgiParams('GET', '/'));
    client.request(1, cgiParams('GET', '/'));
    await client.closed;
    expect(logs.join('\n')).toMatch(/request 1, which is still running/);
  });
});

describe('FCGI_GET_VALUES', () => {
  it('answers only the variables it has, never inherited names like toString', async () => {
    const { connect } = await start(ok);
    const client = await connect();
    client.send(
      encodeRecord(
        GET_VALUES,
        0,
        encodePairs({ toString: '', FCGI_MPXS_CONNS: '', __proto__: '' }),
      ),
    );
    const deadline = Date.now() + 2000;
    while (client.management.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const [type, content] = client.management[0]!;
    expect(type).toBe(GET_VALUES_RESULT);
    expect(decodePairs(content)).toEqual({ FCGI_MPXS_CONNS: '1' });
    client.request(1, cgiParams('GET', '/'));
    expect(status(await client.reply(1))).toBe('200');
  });
});

describe('memory stays bounded', () => {
  it('stops reading management records while its replies are not read', async () => {
    const { server, connect } = await start(ok);
    const accepted = new Promise<import('node:net').Socket>((resolve) =>
      server.node.once('connection', resolve),
    );
    const client = await connect();
    const serverSide = await accepted;
    client.socket.pause(); // a peer that writes and never reads
    const unknown = encodeRecord(42, 0, Buffer.alloc(0)); // 8 bytes in, 16 bytes out
    client.send(Buffer.concat(Array.from({ length: 500_000 }, () => unknown))); // 4 MB
    // Without back-pressure the server reads all of it and queues 8 MB of replies in memory.
    let most = 0;
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      most = Math.max(most, serverSide.writableLength);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(most).toBeLessThan(1_000_000);
  });

  it('makes the requests it multiplexes share one wait for the socket to drain', async () => {
    const REQUESTS = 20;
    const CHUNK = 256 * 1024;
    let read = 0;
    let allRead!: () => void;
    const reading = new Promise<void>((resolve) => {
      allRead = resolve;
    });
    // Three chunks each: the second pull means the pump has read the first and is writing it.
    const { server, connect } = await start(() => {
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(new Uint8Array(CHUNK));
          if (++pulls === 2 && ++read === REQUESTS) allRead();
          if (pulls === 3) controller.close();
        },
      });
      return new FastResponse(body);
    });
    const warnings: string[] = [];
    const warn = (warning: Error) => warnings.push(warning.name);
    process.on('warning', warn);
    try {
      const accepted = new Promise<import('node:net').Socket>((resolve) =>
        server.node.once('connection', resolve),
      );
      const client = await connect();
      const serverSide = await accepted;
      client.socket.pause(); // every response waits for the socket to drain
      for (let id = 1; id <= REQUESTS; id++) client.request(id, cgiParams('GET', '/'));
      await reading;
      await new Promise((resolve) => setImmediate(resolve));
      expect(serverSide.listenerCount('drain')).toBeLessThanOrEqual(1);
      client.socket.resume();
      for (let id = 1; id <= REQUESTS; id++) {
        expect((await client.reply(id, 10_000)).stdout.length).toBeGreaterThan(3 * CHUNK);
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', warn);
    }
  });

  it('answers 431 to PARAMS over maxParamsSize', async () => {
    const { connect } = await start(ok, { maxParamsSize: 4096 });
    const client = await connect();
    client.request(1, cgiParams('GET', '/', { HTTP_X_BIG: 'x'.repeat(10_000) }));
    expect(status(await client.reply(1))).toBe('431');
    client.request(2, cgiParams('GET', '/'));
    expect(status(await client.reply(2))).toBe('200');
  });

  it('refuses requests beyond maxRequests with FCGI_OVERLOADED, and takes them again after', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { connect } = await start(
      async () => {
        await gate;
        return new FastResponse('done');
      },
      { maxRequests: 1 },
    );
    const client = await connect();
    client.request(1, cgiParams('GET', '/'));
    client.request(2, cgiParams('GET', '/'));
    const refused = await client.reply(2);
    expect(refused.end![4]).toBe(2); // FCGI_OVERLOADED
    release();
    expect(status(await client.reply(1))).toBe('200');
    client.request(3, cgiParams('GET', '/'));
    expect(status(await client.reply(3))).toBe('200');
  });

  it('PARAMS never terminated do not grow without bound', async () => {
    const { connect } = await start(ok, { maxParamsSize: 65_536 });
    const client = await connect();
    const begin = Buffer.alloc(8);
    begin.writeUInt16BE(1, 0);
    begin[2] = 1;
    client.send(encodeRecord(BEGIN_REQUEST, 1, begin));
    const chunk = encodeRecord(PARAMS, 1, Buffer.alloc(60_000, 0x41));
    for (let i = 0; i < 4; i++) client.send(chunk);
    expect(status(await client.reply(1))).toBe('431');
    client.send(encodeRecord(STDIN, 1));
  });
});
