import { describe, expect, it } from 'vitest';
import { isFastResponse } from '../src/_internal/response-parts.js';
import { type Application, errorResponse, HTTPError, preferredMediaType } from '../src/index.js';
import { TestClient } from '../src/testing/index.js';

const thrower =
  (error: unknown): Application =>
  () => {
    throw error;
  };

describe('HTTPError', () => {
  it('becomes its own response: status, headers, body', async () => {
    const app = thrower(new HTTPError(405, { headers: { allow: 'GET, HEAD' } }));
    const res = await new TestClient(app).post('/');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.text()).toBe('405 Method Not Allowed\n');
  });

  it('negotiates HTML, JSON and plain text by Accept, escaping the body', async () => {
    const body = `<script>alert("x")</script> & 'y'`;
    const client = new TestClient(thrower(new HTTPError(404, { body })));

    const html = await client.get('/', {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.text()).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
    expect(html.text()).not.toContain('<script>');

    const json = await client.get('/', { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.json()).toEqual({ status: 404, error: 'Not Found', message: body });
    expect(json.text()).not.toContain('<');

    const text = await client.get('/', { headers: { accept: '*/*' } });
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.text()).toBe(`404 Not Found\n\n${body}\n`);
    for (const res of [html, json, text]) {
      expect(res.headers.get('vary')).toBe('Accept');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('refuses a status that is not an error or redirect', () => {
    expect(() => new HTTPError(200)).toThrow(RangeError);
    expect(() => new HTTPError(404.5)).toThrow(/integer from 300 to 599/);
  });

  it('keeps the cause for logs and out of the response', async () => {
    const error = new HTTPError(502, { cause: new Error('secret upstream detail') });
    expect((error.cause as Error).message).toBe('secret upstream detail');
    const res = await new TestClient(thrower(error)).get('/');
    expect(res.text()).not.toContain('secret');
  });

  it('sends no body for HEAD', async () => {
    const res = errorResponse(404, new Request('http://h/', { method: 'HEAD' }));
    expect(await res.text()).toBe('');
  });
});

describe('errorResponse', () => {
  it("is a FastResponse once mortar's entry is loaded (the HTTP gateway writes it from its parts)", async () => {
    const response = errorResponse(404, new Request('http://localhost/', { method: 'HEAD' }));
    expect(isFastResponse(response)).toBe(true);
    expect(response.status).toBe(404);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('');
  });
});

describe('preferredMediaType', () => {
  const offers = ['text/plain', 'text/html', 'application/json'] as const;
  it.each([
    [undefined, 'text/plain'],
    ['', 'text/plain'],
    ['*/*', 'text/plain'],
    ['application/json', 'application/json'],
    ['text/html;q=0.5, application/json;q=0.9', 'application/json'],
    ['text/*;q=0.9, text/html', 'text/html'],
    ['image/png', undefined],
    ['text/plain;q=0, */*', 'text/html'],
    ['garbage, ;;, /', undefined],
  ])('Accept %j → %j', (accept, expected) => {
    expect(preferredMediaType(accept, offers)).toBe(expected);
  });
});
