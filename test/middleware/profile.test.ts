/**
 * profile(): a real `mortar serve` of test/fixtures/profiled.ts; the `.cpuprofile` files it
 * writes, read as DevTools reads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { profile } from '../../middleware/profile/index.js';
import { root, run, served } from '../e2e/cli-run.js';

const fixture = 'test/fixtures/profiled.ts';
const hotLine =
  readFileSync(path.join(root, fixture), 'utf8')
    .split('\n')
    .findIndex((line) => line.startsWith('function hot(')) + 1;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mortar-profile-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function start(env: Record<string, string> = {}) {
  const server = run(['serve', fixture, '--port', '0'], { env: { PROFILE_DIR: dir, ...env } });
  return { server, url: await served(server) };
}

/** The profiles' names, oldest first (each is written before its response is sent). */
const profiles = () =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort();

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}
const read = (name: string) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Profile;

/** The function with the most self time, as DevTools' Bottom-Up view counts it. */
function heaviest(p: Profile): { name: string; url: string; line: number } {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName.startsWith('(')) return; // (idle), (program), (garbage collector), (root)
    const key = JSON.stringify({ name: functionName, url, line: lineNumber + 1 });
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  });
  const [key] = [...self].sort((a, b) => b[1] - a[1])[0]!;
  return JSON.parse(key);
}

describe('profile()', () => {
  it('writes a DevTools .cpuprofile whose heaviest function is the hot one, at its TypeScript line', async () => {
    const { url } = await start();
    expect(await (await fetch(new URL('/hot?ms=300', url))).text()).not.toBe('');
    const [name] = profiles();
    expect(name).toMatch(/^\d{4}-\d\d-\d\dT[\d-]+\.\d{3}Z_GET_hot_200_\d{3,}ms\.cpuprofile$/);
    const p = read(name!);
    expect(p.endTime).toBeGreaterThan(p.startTime);
    expect(p.samples.length).toBe(p.timeDeltas.length);
    expect(p.nodes[0]!.callFrame.functionName).toBe('(root)');
    expect(heaviest(p)).toEqual({
      name: 'hot',
      url: pathToFileURL(path.join(root, fixture)).href,
      line: hotLine,
    });
  });

  it('with a trigger, profiles only the requests that carry it', async () => {
    const { url } = await start({ TRIGGER: '1' });
    await fetch(new URL('/fast', url));
    await fetch(new URL('/fast?profile', url));
    await fetch(new URL('/fast?page=2', url));
    await fetch(new URL('/fast', url), { headers: { 'x-profile': '1' } });
    const names = profiles();
    await fetch(new URL('/fast', url));
    expect(profiles()).toEqual(names);
    expect(names).toHaveLength(2);
    for (const name of names) expect(name).toContain('_GET_fast_200_');
  });

  it('profiles a sampled fraction of the requests', async () => {
    const { url } = await start({ SAMPLE: '0.5' });
    for (let i = 0; i < 40; i++) await fetch(new URL('/fast', url));
    const names = profiles();
    expect(names.length).toBeGreaterThan(5);
    expect(names.length).toBeLessThan(35);
  });

  it('runs two concurrent profiled requests one after the other', async () => {
    const { url } = await start();
    await Promise.all([fetch(new URL('/wait', url)), fetch(new URL('/wait', url))]);
    const [first, second] = profiles().map(read);
    expect(second!.startTime).toBeGreaterThanOrEqual(first!.endTime);
  });

  it('lets concurrent profiled requests overlap with serialize: false', async () => {
    const { url } = await start({ SERIALIZE: 'no' });
    await Promise.all([fetch(new URL('/wait', url)), fetch(new URL('/wait', url))]);
    const [first, second] = profiles().map(read);
    expect(second!.startTime).toBeLessThan(first!.endTime);
  });

  it('refuses NODE_ENV=production unless forced, and bad options', () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(() => profile({ dir })).toThrow(/refusing to run with NODE_ENV=production/);
    } finally {
      process.env.NODE_ENV = saved;
    }
    expect(() => profile({} as never)).toThrow(
      /^profile: option "dir" is required \(a folder \(a non-empty string\)\)$/,
    );
    expect(() => profile({ dir: '' })).toThrow(
      /^profile: option "dir" must be a folder \(a non-empty string\), got ""$/,
    );
    expect(() => profile({ dir, sample: 2 })).toThrow(
      /^profile: option "sample" must be a fraction from 0 to 1, got 2$/,
    );
    expect(() => profile({ dir, smaple: 1 } as never)).toThrow(
      /^profile: unknown option "smaple" — did you mean "sample"\?$/,
    );
    // '/' alone would have made every request the index's.
    expect(() => profile({ dir, path: '/' })).toThrow(
      /^profile: option "path" must be a path below the mount \(starting with "\/", not "\/" alone\), got "\/"$/,
    );
    // A header name that is not a token would have thrown at every request.
    expect(() => profile({ dir, trigger: {} })).toThrow(
      /^profile: option "trigger" must name a query parameter or a header/,
    );
    expect(() => profile({ dir, trigger: { header: 'x profile' } })).toThrow(
      /^profile: option "trigger\.header" must be a header field name, got "x profile"$/,
    );
  });

  it('serves its index only to a trusted Host, and only after the PIN', async () => {
    const { server, url } = await start();
    const index = new URL('/__profile__/', url);
    const locked = await fetch(index);
    expect(locked.status).toBe(200);
    expect(locked.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await locked.text()).toContain('<form class="pin">');
    const pin = /the PIN is (\d{3}-\d{3}-\d{3})/.exec(server.output())![1]!;
    const unlock = await fetch(new URL('/__profile__/pin', url), {
      method: 'POST',
      headers: { origin: new URL(url).origin, 'content-type': 'application/json' },
      body: JSON.stringify({ pin }),
    });
    expect(unlock.status).toBe(200);
    const cookie = unlock.headers.get('set-cookie')!.split(';')[0]!;
    await fetch(new URL('/hot?ms=50', url));
    profiles();
    const page = await fetch(index, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('GET /hot');
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(index, { headers: { host: 'evil.example', cookie } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(404);
  });
});
