// `module[:export]` and loading an application by name, without starting a server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSocket } from '../../cli/args.js';
import { LoadError, loadApplication, parseAppSpec } from '../../cli/load.js';

describe('parseAppSpec', () => {
  it.each([
    ['app.ts', { module: 'app.ts', exportPath: undefined }],
    ['app.ts:api', { module: 'app.ts', exportPath: ['api'] }],
    ['app.ts:app.fetch', { module: 'app.ts', exportPath: ['app', 'fetch'] }],
    ['C:/srv/app.ts:api', { module: 'C:/srv/app.ts', exportPath: ['api'] }],
    ['@scope/pkg:handler', { module: '@scope/pkg', exportPath: ['handler'] }],
  ])('%s', (spec, expected) => {
    expect(parseAppSpec(spec)).toEqual(expected);
  });

  it.each(['', 'app.ts:1abc', 'app.ts:a..b', 'app.ts:a-b'])('refuses %s', (spec) => {
    expect(() => parseAppSpec(spec)).toThrow(LoadError);
  });
});

describe('loadApplication', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, source: string) => writeFileSync(path.join(dir, name), source);

  write('named.mjs', 'export const application = () => new Response("named");');
  write(
    'default.mjs',
    'export default { fetch() { return new Response(this.word); }, word: "bound" };',
  );
  write('other.mjs', 'export const helper = 1;');

  it('takes "application", and binds an object\'s fetch to the object', async () => {
    const named = await loadApplication('named.mjs', dir);
    expect(await (await named(new Request('http://x/'), {} as never)).text()).toBe('named');
    const fetchObject = await loadApplication('default', dir);
    expect(await (await fetchObject(new Request('http://x/'), {} as never)).text()).toBe('bound');
  });

  it.each([
    ['missing.ts', /cannot find module "missing.ts"/],
    ['other.mjs', /exports neither "application" nor a default \(it exports: helper\)/],
    ['other.mjs:nope', /has no export "nope"/],
    ['other.mjs:helper', /is a number, not an application function/],
  ])('%s fails with one clear line', async (spec, message) => {
    await expect(loadApplication(spec, dir)).rejects.toThrow(message);
    await expect(loadApplication(spec, dir)).rejects.toBeInstanceOf(LoadError);
  });
});

describe('--fastcgi / --scgi addresses use the one host grammar', () => {
  it.each([
    ['/run/app.sock', { path: '/run/app.sock' }],
    ['9000', { host: '127.0.0.1', port: 9000 }],
    ['app_upstream:9000', { host: 'app_upstream', port: 9000 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
  ])('%s', (value, where) => {
    expect(parseSocket(value, '--fastcgi')).toEqual(where);
  });

  it.each(['host:70000', '70000', 'a b:1', 'host'])('refuses %s', (value) => {
    expect(() => parseSocket(value, '--fastcgi')).toThrow(/--fastcgi takes a socket path/);
  });
});
