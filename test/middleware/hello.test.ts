import { describe, expect, it } from 'vitest';
import { hello, helloWorld } from '../../middleware/hello/index.js';
import { type Application, FastResponse } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

describe('hello', () => {
  const client = new TestClient(hello);

  it('answers GET with Hello, world! as text/plain', async () => {
    const res = await client.get('/anything');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.text()).toBe('Hello, world!\n');
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await client.head('/');
    expect(res.status).toBe(200);
    expect(res.text()).toBe('');
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])(
    'answers %s with 405 and Allow',
    async (method) => {
      const res = await client.request(method, '/');
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    },
  );
});

describe('helloWorld', () => {
  const inner: Application = async (request, environ) =>
    FastResponse.json({ url: request.url, environ, body: await request.text() });

  it('answers its path itself', async () => {
    const res = await new TestClient(helloWorld()(inner)).get('/hello');
    expect(res.text()).toBe('Hello, world!\n');
  });

  it('passes every other request through untouched', async () => {
    const res = await new TestClient(helloWorld()(inner)).post('/hello/x?y=1', { body: 'b' });
    expect(res.json()).toEqual({
      url: 'http://localhost/hello/x?y=1',
      environ: {
        scriptName: '',
        pathInfo: '/hello/x',
        remoteAddress: '127.0.0.1',
        serverProtocol: 'HTTP/1.1',
        gateway: 'test',
      },
      body: 'b',
    });
    expect((await new TestClient(helloWorld()(inner)).get('/hellox')).json()).toHaveProperty('url');
  });

  it('takes another path and answer, and refuses a path without a leading slash', async () => {
    const client = new TestClient(
      helloWorld({ path: '/hi', answer: () => new FastResponse('hi') })(inner),
    );
    expect((await client.get('/hi')).text()).toBe('hi');
    expect(() => helloWorld({ path: 'hi' })).toThrow(
      /helloWorld: option "path" must be a path starting with "\/"/,
    );
  });
});
