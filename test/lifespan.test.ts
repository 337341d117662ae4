/**
 * Lifespans (withLifespan, getState, carrying through compose / urlmap / cascade, and the
 * one start/stop rule every gateway shares), over real HTTP where a server runs them.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { cascade, urlmap } from '../middleware/urlmap/index.js';
import { serveFastCGI } from '../src/gateways/fastcgi/index.js';
import { serve } from '../src/gateways/node/index.js';
import { serveSCGI } from '../src/gateways/scgi/index.js';
import {
  type Application,
  carryLifespans,
  compose,
  getState,
  type Lifespan,
  LifespanError,
  type Middleware,
  startLifespans,
  toFetchHandler,
  withLifespan,
} from '../src/index.js';
import { TestClient } from '../src/testing/index.js';
import { cgiParams, FastCGIClient, scgiRequest } from './helpers/fastcgi-client.js';
import { closeNow } from './helpers/net.js';

/** A lifespan that notes its startup and shutdown in `events` and yields `{ [name]: … }`. */
function recorded(events: string[], name: string): Lifespan {
  return async function* () {
    events.push(`start ${name}`);
    try {
      yield { [name]: `${name}'s resource` };
    } finally {
      events.push(`stop ${name}`);
    }
  };
}

const showState: Application = (_request, environ) => Response.json(getState(environ));

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

const stamp: Middleware = (app) => async (request, environ) => {
  const response = await app(request, environ);
  return new Response(response.body, response);
};

describe('withLifespan under serve()', () => {
  it('shows the state to a request through compose and a urlmap mount', async () => {
    const events: string[] = [];
    const app = compose(stamp)(
      urlmap({ '/api': withLifespan(showState, recorded(events, 'db'), { name: 'db' }) }),
    );
    const server = await serve(app, { port: 0, announce: false, handleSignals: false });
    try {
      expect(events).toEqual(['start db']); // before the first request: at startup
      const response = await get(`${server.url}api/x`);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ db: "db's resource" });
    } finally {
      await closeNow(server);
    }
    expect(events).toEqual(['start db', 'stop db']);
  });

  it('starts mounted lifespans in mount order (an outer one first) and stops them in reverse', async () => {
    const events: string[] = [];
    const app = withLifespan(
      compose(stamp)(
        urlmap({
          '/z': withLifespan(showState, recorded(events, 'z')),
          '/a/deeper': withLifespan(showState, recorded(events, 'a')),
          '/c': cascade([withLifespan(showState, recorded(events, 'c1')), showState]),
        }),
      ),
      recorded(events, 'root'),
    );
    const server = await serve(app, { port: 0, announce: false, handleSignals: false });
    expect(events).toEqual(['start root', 'start z', 'start a', 'start c1']);
    await closeNow(server);
    expect(events.slice(4)).toEqual(['stop c1', 'stop a', 'stop z', 'stop root']);
  });

  it('a startup that throws names the lifespan, stops the ones before it in reverse, starts none after, binds nothing', async () => {
    const events: string[] = [];
    const broken: Lifespan = {
      startup: () => {
        events.push('start broken');
        throw new Error('cannot reach the database');
      },
    };
    const app = urlmap({
      '/a': withLifespan(showState, recorded(events, 'a')),
      '/b': withLifespan(showState, recorded(events, 'b')),
      '/broken': withLifespan(showState, broken, { name: 'database' }),
      '/later': withLifespan(showState, recorded(events, 'later')),
    });
    const failure = serve(app, { port: 0, announce: false, handleSignals: false });
    await expect(failure).rejects.toThrow(
      'lifespan "database" failed at startup: cannot reach the database',
    );
    await expect(failure).rejects.toBeInstanceOf(LifespanError);
    expect(events).toEqual(['start a', 'start b', 'start broken', 'stop b', 'stop a']);
  });

  it('a port in use: the lifespans started are stopped, the listen error thrown', async () => {
    const events: string[] = [];
    const taken = await serve(showState, { port: 0, announce: false, handleSignals: false });
    try {
      const port = Number(new URL(taken.url).port);
      const app = withLifespan(showState, recorded(events, 'db'));
      await expect(
        serve(app, { port, announce: false, handleSignals: false }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(events).toEqual(['start db', 'stop db']);
    } finally {
      await closeNow(taken);
    }
  });

  it('a startup past the startup timeout fails with the timeout in its message', async () => {
    const events: string[] = [];
    let finish: () => void = () => {};
    const slow: Lifespan = {
      startup: () => new Promise((resolve) => (finish = () => resolve({ slow: true }))),
      shutdown: () => void events.push('stop slow'),
    };
    const app = withLifespan(showState, slow, { name: 'slow' });
    await expect(startLifespans(app, { startupTimeout: 50 })).rejects.toThrow(
      'lifespan "slow" did not finish its startup within 50 ms',
    );
    finish(); // a startup that finishes after its timeout is shut down at once
    await expect.poll(() => events).toEqual(['stop slow']);
  });
});

describe('withLifespan under serveFastCGI() and serveSCGI()', () => {
  const quiet = { port: 0, announce: false, handleSignals: false, log: () => {} };

  it('FastCGI: started before it listens, state in the request, stopped at close()', async () => {
    const events: string[] = [];
    const server = await serveFastCGI(
      urlmap({ '/api': withLifespan(showState, recorded(events, 'db')) }),
      quiet,
    );
    expect(events).toEqual(['start db']);
    const client = await FastCGIClient.connect(Number(new URL(server.url).port));
    client.request(1, cgiParams('GET', '/api/x'));
    expect((await client.reply(1)).stdout.toString()).toContain(`{"db":"db's resource"}`);
    await client.close();
    await server.close();
    expect(events).toEqual(['start db', 'stop db']);
  });

  it('SCGI: the same', async () => {
    const events: string[] = [];
    const server = await serveSCGI(
      urlmap({ '/api': withLifespan(showState, recorded(events, 'db')) }),
      quiet,
    );
    expect(events).toEqual(['start db']);
    const reply = await scgiRequest(Number(new URL(server.url).port), cgiParams('GET', '/api/x'));
    expect(reply.toString()).toContain(`{"db":"db's resource"}`);
    await server.close();
    expect(events).toEqual(['start db', 'stop db']);
  });
});

describe('a lifespan lost on the way', () => {
  const plain: Middleware = (app) => async (request, environ) => app(request, environ);

  it('a plain-function middleware drops it: the request throws naming it, never a silent skip', async () => {
    const app = plain(withLifespan(showState, recorded([], 'db'), { name: 'db' }));
    const client = new TestClient(app);
    await client.start();
    await expect(client.get('/')).rejects.toThrow('the lifespan "db" was not started');
  });

  it('carryLifespans(outer, app) keeps it', async () => {
    const carried: Middleware = (app) =>
      carryLifespans(async (request, environ) => app(request, environ), app);
    const client = new TestClient(carried(withLifespan(showState, recorded([], 'db'))));
    await client.start();
    expect((await client.get('/')).json()).toEqual({ db: "db's resource" });
    await client.stop();
  });

  it('getState without withLifespan names withLifespan', async () => {
    await expect(new TestClient(showState).get('/')).rejects.toThrow(
      /withLifespan\(app, lifespan\)/,
    );
  });
});

describe('TestClient and lifespans', () => {
  it('start() runs the startups, stop() the shutdowns; await using stops them', async () => {
    const events: string[] = [];
    const app = withLifespan(showState, recorded(events, 'db'));
    {
      await using client = new TestClient(app);
      await client.start();
      expect(events).toEqual(['start db']);
      expect((await client.get('/')).json()).toEqual({ db: "db's resource" });
    }
    expect(events).toEqual(['start db', 'stop db']);
  });
});

describe('toFetchHandler and lifespans', () => {
  it('starts them once, lazily, however many first requests arrive together', async () => {
    let startups = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = withLifespan(showState, {
      startup: async () => {
        startups++;
        await gate;
        return { n: startups };
      },
    });
    const handler = toFetchHandler(app);
    expect(startups).toBe(0); // nothing before the first request
    const answers = Array.from({ length: 5 }, () => handler(new Request('http://x/')));
    await expect.poll(() => startups).toBe(1);
    release();
    const bodies = await Promise.all(answers.map(async (a) => (await a).json()));
    expect(bodies).toEqual(Array(5).fill({ n: 1 }));
    await handler(new Request('http://x/'));
    expect(startups).toBe(1);
  });
});
