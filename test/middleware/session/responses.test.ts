// Issue 9 §4: what the session middleware does to the application's response — it keeps what
// the body implies, works on immutable responses, and never answers a cookie bomb in kind.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { CookieStore, getSession, session } from '../../../middleware/session/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { closeNow } from '../../helpers/net.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
});

const counting: Application = async (request, environ) => {
  const s = await getSession<{ n: number }>(environ);
  s.set('n', (s.get('n') ?? 0) + 1);
  const path = new URL(request.url).pathname;
  if (path === '/redirect') return Response.redirect('http://localhost/next', 303);
  return new FastResponse('a string body');
};

function get(url: string): Promise<http.IncomingMessage & { text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(Object.assign(res, { text })));
      })
      .on('error', reject);
  });
}

describe('session(): the response it hands on', () => {
  it('a string-bodied FastResponse keeps its Content-Type and Content-Length with the cookie', async () => {
    const server = await serve(session({ secret: SECRET })(counting), {
      port: 0,
      handleSignals: false,
      announce: false,
    });
    servers.push(server);
    const res = await get(server.url);
    expect(res.headers['set-cookie']).toHaveLength(1);
    expect(res.headers['content-type']).toBe('text/plain; charset=UTF-8');
    expect(res.headers['content-length']).toBe(String('a string body'.length));
    expect(res.text).toBe('a string body');
  });

  it('an immutable Response.redirect() gets the cookie too', async () => {
    const client = new TestClient(session({ secret: SECRET })(counting));
    const res = await client.get('/redirect');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('http://localhost/next');
    expect(res.headers.getSetCookie()).toHaveLength(1);
  });

  it('CookieStore answers 700 forged chunk cookies with no more Set-Cookie lines than it can write', async () => {
    const store = new CookieStore({ maxChunks: 5 });
    const client = new TestClient(session({ secret: SECRET, store })(counting));
    const bomb = Array.from({ length: 700 }, (_, i) => `mortar_session.${i}=a`).join('; ');
    const res = await client.get('/', { headers: { cookie: bomb } });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().length).toBeLessThanOrEqual(6);
  });
});
