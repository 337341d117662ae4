// The outcome rule (DESIGN.md §1), kept once in runApplication and used by every gateway: a
// Response is the answer, a thrown HTTPError its own response, anything else a plain 500 and
// one log line. The same applications are run through runApplication itself and through each
// gateway that uses it, over real loopback where the gateway has a socket.
import http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runApplication } from '../../src/_internal/outcome.js';
import { serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import {
  type Application,
  type Environ,
  FastResponse,
  HTTPError,
  toFetchHandler,
} from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';
import { cgiParams, FastCGIClient } from '../helpers/fastcgi-client.js';
import { closeNow } from '../helpers/net.js';
import { thenable } from '../helpers/thenable.js';

const environ: Environ = { scriptName: '', pathInfo: '/', gateway: 'test' };
const request = () => new Request('http://localhost/x');

/** Applications and what the rule makes of them: status, and a log line matching, or none. */
const cases: [string, Application, number, RegExp | undefined][] = [
  ['a Response', () => new FastResponse('ok'), 200, undefined],
  ['a promised Response', async () => new FastResponse('ok'), 200, undefined],
  ['a thenable Response', () => thenable(() => new FastResponse('ok')), 200, undefined],
  [
    'a thrown HTTPError',
    () => {
      throw new HTTPError(409, { body: 'taken' });
    },
    409,
    undefined,
  ],
  [
    'a rejected HTTPError',
    async () => {
      throw new HTTPError(418);
    },
    418,
    undefined,
  ],
  [
    'a thrown Error',
    () => {
      throw new RangeError('no such order');
    },
    500,
    /^mortar: unhandled error in GET http:\/\/[^ ]+\/x: RangeError: no such order\n\s+at /,
  ],
  [
    'a thenable that rejects',
    () =>
      thenable(() => {
        throw new Error('later');
      }) as never,
    500,
    /^mortar: unhandled error in GET \S+: Error: later/,
  ],
  [
    'a thrown string',
    () => {
      throw 'plain';
    },
    500,
    /a thrown a string \(plain\) \(throw an Error to get a stack trace\)$/,
  ],
  [
    'null',
    () => null as never,
    500,
    /^mortar: the application returned null for GET \S+, not a Response; answering 500$/,
  ],
  [
    'a promised string',
    async () => 'text' as never,
    500,
    /returned a string \(text\) for GET \S+, not a Response; answering 500$/,
  ],
  [
    'a hostile Proxy',
    () =>
      new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('trap');
          },
          get() {
            throw new Error('trap');
          },
        },
      ) as never,
    500,
    /returned .* not a Response; answering 500$/,
  ],
];

describe('runApplication', () => {
  it.each(cases)('%s', async (_name, app, status, line) => {
    const logs: string[] = [];
    const response = await runApplication(app, request(), environ, (l) => logs.push(l));
    expect(response.status).toBe(status);
    if (line) {
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(line);
    } else expect(logs).toEqual([]);
  });

  it('answers a synchronous application synchronously, any thenable with a promise', () => {
    const log = () => {};
    expect(runApplication(() => new FastResponse('ok'), request(), environ, log)).toBeInstanceOf(
      Response,
    );
    const later = runApplication(
      () => thenable(() => new FastResponse('ok')),
      request(),
      environ,
      log,
    );
    expect(later).toBeInstanceOf(Promise);
  });

  it('rethrows, for a test, what is not an HTTPError, and says what is not a Response', async () => {
    const boom = new Error('boom');
    const thrower: Application = () => {
      throw boom;
    };
    expect(() => runApplication(thrower, request(), environ, () => {}, true)).toThrow(boom);
    await expect(
      runApplication(
        async () => 7 as never,
        request(),
        environ,
        () => {},
        true,
      ),
    ).rejects.toThrow(/^the application returned a number \(7\) for GET \S+, not a Response$/);
    const http = runApplication(
      () => Promise.reject(new HTTPError(404)),
      request(),
      environ,
      () => {},
      true,
    );
    expect((await http).status).toBe(404);
  });
});

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  vi.restoreAllMocks();
});

/** GET /x through node:http over loopback: the status. */
function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(new URL('/x', url), (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
      .on('error', reject);
  });
}

describe('every gateway keeps the rule', () => {
  it.each(cases)('%s', async (_name, app, status, line) => {
    const logs: string[] = [];
    const log = (l: string) => logs.push(l);
    const server: Server = await serve(app, { port: 0, announce: false, log });
    closers.push(() => closeNow(server));
    expect(await get(server.url)).toBe(status);

    const fastcgi = await serveFastCGI(app, {
      port: 0,
      announce: false,
      handleSignals: false,
      log,
    });
    closers.push(fastcgi.close);
    const client = await FastCGIClient.connect(Number(new URL(fastcgi.url).port));
    closers.push(() => client.close());
    client.request(1, cgiParams('GET', '/x'));
    expect((await client.reply(1)).stdout.toString()).toMatch(new RegExp(`^Status: ${status} `));

    const consoleLines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((l: string) => void consoleLines.push(l));
    expect((await toFetchHandler(app)(request())).status).toBe(status);
    const tested = new TestClient(app, { throwErrors: false });
    expect((await tested.get('/x')).status).toBe(status);

    const expected = line ? 4 : 0;
    expect([...logs, ...consoleLines]).toHaveLength(expected);
    for (const each of [...logs, ...consoleLines]) expect(each).toMatch(line!);
  });
});
