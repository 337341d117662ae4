import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FastResponse, withHeaders } from '../src/index.js';

describe('withHeaders', () => {
  it('sets headers on a mutable response in place', () => {
    const response = new FastResponse('x', { headers: { 'set-cookie': 'a=1' } });
    const out = withHeaders(response, [
      ['x-powered-by', 'mortar'],
      ['set-cookie', 'b=2'],
    ]);
    expect(out).toBe(response);
    expect(out.headers.get('x-powered-by')).toBe('mortar');
    expect(out.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('copies an immutable one: Response.redirect(), FastResponse.redirect(), a fetch() result', async () => {
    const server = http.createServer((_req, res) => res.end('proxied'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const fetched = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      for (const response of [
        Response.redirect('http://localhost/next', 302),
        FastResponse.redirect('http://localhost/next', 303),
        fetched,
      ]) {
        expect(() => response.headers.set('x-a', '1')).toThrow(TypeError);
        const out = withHeaders(response, { 'x-powered-by': 'mortar' });
        expect(out.headers.get('x-powered-by')).toBe('mortar');
        expect(out.status).toBe(response.status);
        expect(out.headers.get('location')).toBe(response.headers.get('location'));
      }
      const copy = withHeaders(
        await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
        { 'x-a': '1' },
      );
      expect(await copy.text()).toBe('proxied');
    } finally {
      server.close();
    }
  });

  it('refuses a header value that would break the head', () => {
    expect(() => withHeaders(new Response('x'), { 'x-a': 'a\r\nb' })).toThrow(TypeError);
  });
});
