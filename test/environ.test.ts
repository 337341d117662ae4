import { describe, expect, it } from 'vitest';
import { defineEnvironKey, type Environ, rebaseRequest } from '../src/index.js';

const environ: Environ = { scriptName: '', pathInfo: '/x', gateway: 'test' };

describe('defineEnvironKey', () => {
  const key = defineEnvironKey<{ user: string }>('widget', "widget() from 'mortar/widget'");

  it('gives back the typed value placed with with(), in a new environ', () => {
    const next = key.with(environ, { user: 'ann' });
    expect(key.get(next).user).toBe('ann');
    expect(next).not.toBe(environ);
    expect(key.find(environ)).toBeUndefined();
    expect(next.pathInfo).toBe('/x');
  });

  it('names the missing middleware when nothing was placed', () => {
    expect(() => key.get(environ)).toThrow(
      "no widget in this environ: wrap the application with widget() from 'mortar/widget'",
    );
  });

  it('cannot be read through a string key', () => {
    const next = key.with(environ, { user: 'ann' }) as unknown as Record<string, unknown>;
    expect(next['widget']).toBeUndefined();
  });
});

describe('rebaseRequest', () => {
  it('changes only the URL path: origin, query, method, headers, body, signal read through', async () => {
    const controller = new AbortController();
    const original = new Request('http://h/app/x?q=1', {
      method: 'POST',
      headers: { 'x-a': '1' },
      body: 'payload',
      signal: controller.signal,
    });
    const rebased = rebaseRequest(original, '/x');
    expect(rebased).toBeInstanceOf(Request);
    expect(rebased.url).toBe('http://h/x?q=1');
    expect(new URL(rebased.url).pathname).toBe('/x');
    expect(rebased.method).toBe('POST');
    expect(rebased.headers.get('x-a')).toBe('1');
    controller.abort();
    expect(rebased.signal.aborted).toBe(true);
    expect(await rebased.text()).toBe('payload');
    expect(original.bodyUsed).toBe(true);
  });

  it('clones keep the new URL, and rebasing twice does not nest', async () => {
    const original = new Request('http://h/a/b/c', { method: 'PUT', body: 'x' });
    const once = rebaseRequest(original, '/b/c');
    const twice = rebaseRequest(once, '/c');
    expect(twice.url).toBe('http://h/c');
    const copy = twice.clone();
    expect(copy.url).toBe('http://h/c');
    expect(await copy.text()).toBe('x');
    expect(await twice.text()).toBe('x');
  });

  it('can be rebuilt into a native Request with new Request(it.url, it)', async () => {
    const rebased = rebaseRequest(
      new Request('http://h/a/b?q', { method: 'POST', body: 'z', headers: { 'x-a': '1' } }),
      '/b',
    );
    const native = new Request(rebased.url, rebased);
    expect(native.url).toBe('http://h/b?q');
    expect(native.method).toBe('POST');
    expect(native.headers.get('x-a')).toBe('1');
    expect(await native.text()).toBe('z');
  });
});
