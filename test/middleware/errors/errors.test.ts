/**
 * errors(), the production error page: one record per error, a 500 with only its id — and
 * `mortar/errors` loads no debugger (no node:inspector, no page assets, no console token).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { type ErrorRecord, errors } from '../../../middleware/errors/index.js';
import { type Application, FastResponse, HTTPError } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { exportSources, root } from '../../helpers/doc-blocks.js';

function inner(order: { id: number }): never {
  const secret = `sauce-${order.id}`;
  throw new RangeError(`no price for order ${order.id} <script>alert(1)</script> ${secret.length}`);
}

/** Routes that fail in different ways. */
const failing: Application = async (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === '/sync') inner({ id: 7 });
  if (pathname === '/http') throw new HTTPError(409, { body: 'conflict here' });
  if (pathname === '/string') throw 'a plain string';
  return new FastResponse('fine');
};

describe('errors()', () => {
  const records: ErrorRecord[] = [];
  const client = (onError?: () => void) =>
    new TestClient(errors({ log: (r) => records.push(r), onError })(failing));

  it('logs one record with an id and the traceback, and answers only the id', async () => {
    records.length = 0;
    const res = await client().get('/sync', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(500);
    const id = res.headers.get('x-error-id')!;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(res.text()).toContain(id);
    expect(res.text()).not.toMatch(/inner|errors\.test|sauce|RangeError/);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 'error',
      id,
      method: 'GET',
      url: 'http://localhost/sync',
    });
    expect(records[0]!.traceback).toMatch(
      /RangeError: no price for order 7[\s\S]*at inner \(.*errors\.test\.ts:\d+:\d+\)/,
    );
  });

  it('negotiates JSON and text, never with source or stack', async () => {
    const json = await client().get('/sync', { headers: { accept: 'application/json' } });
    expect(Object.keys(json.json<object>()).sort()).toEqual(['error', 'message', 'status']);
    const text = await client().get('/sync');
    expect(text.text()).toMatch(
      /^500 Internal Server Error\n\nSomething went wrong on our side\. Error id: [0-9a-f]{16}\n$/,
    );
  });

  it('lets an HTTPError through as its own response, and calls onError for the rest', async () => {
    const seen: unknown[] = [];
    const c = client(() => seen.push('called'));
    const res = await c.get('/http');
    expect(res.status).toBe(409);
    expect(res.text()).toContain('conflict here');
    await c.get('/string');
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['called']);
  });

  it('ends a response body that fails while streaming, and logs it', async () => {
    records.length = 0;
    let pulls = 0;
    const streaming: Application = () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('partial '));
            else controller.error(new Error('the stream broke'));
          },
        }),
      );
    const res = await new TestClient(errors({ log: (r) => records.push(r) })(streaming)).get('/');
    expect(res.text()).toBe('partial ');
    expect(records[0]?.message).toBe('Error: the stream broke');
  });
});

describe('errors() without a promise in the way', () => {
  it('answers a synchronous application synchronously, and catches what it throws', () => {
    const page = errors({ log: () => {} });
    const fine = page(() => new FastResponse('fine'))(new Request('http://localhost/'), {
      scriptName: '',
      pathInfo: '/',
      gateway: 'test',
    });
    expect(fine).toBeInstanceOf(Response);
    const failed = page(() => {
      throw new Error('sync');
    })(new Request('http://localhost/'), { scriptName: '', pathInfo: '/', gateway: 'test' });
    expect((failed as Response).status).toBe(500);
  });

  it('handles a thenable that is not a native promise', async () => {
    // A thenable that is no native promise (what some libraries return), built by assignment.
    const thenable: Record<string, unknown> = {};
    Reflect.set(thenable, 'then', (_: unknown, reject: (e: unknown) => void) =>
      reject(new Error('x')),
    );
    const res = await new TestClient(
      errors({ log: () => {} })((() => thenable) as unknown as Application),
    ).get('/');
    expect(res.status).toBe(500);
  });
});

const work = path.join(root, '.tmp', 'errors-bundle');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * `mortar/<name>` bundled as a user's build would (resolved through package.json's exports)
 * and imported in a fresh Node process from a folder holding `assets` (copied from the source
 * tree) and nothing else: the files the bundle holds, and the built-in modules loaded.
 */
async function importFresh(
  name: string,
  assets: string[] = [],
): Promise<{ inputs: string[]; builtins: string[] }> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const asset of assets)
    copyFileSync(path.join(root, asset), path.join(dir, path.basename(asset)));
  const outfile = path.join(dir, 'bundle.mjs');
  const sources = exportSources();
  const result = await build({
    stdin: {
      contents: `export * from 'mortar/${name}';`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    outfile,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
    plugins: [
      {
        name: 'mortar-sources',
        setup: (b) =>
          b.onResolve({ filter: /^mortar(?:\/|$)/ }, (args) => ({ path: sources[args.path]! })),
      },
    ],
  });
  const loaded = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(outfile)}); console.log(JSON.stringify(process.moduleLoadList));`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return {
    inputs: Object.keys(result.metafile.inputs),
    builtins: (JSON.parse(loaded) as string[])
      .filter((entry) => entry.startsWith('NativeModule '))
      .map((entry) => entry.slice('NativeModule '.length)),
  };
}

describe('import mortar/errors', () => {
  it("loads no debugger: no node:inspector, none of debug()'s files or page assets", async () => {
    const { inputs, builtins } = await importFresh('errors');
    expect(builtins).not.toContain('inspector');
    expect(inputs.filter((file) => /middleware\/debug\/|page\.(css|js)$/.test(file))).toEqual([]);
    expect(inputs).toContain('middleware/errors/index.ts');
  }, 60_000);

  it('(against mortar/debug, which does load them, so the check can see them)', async () => {
    const { inputs, builtins } = await importFresh('debug', [
      'middleware/_shared/page.css',
      'middleware/debug/page.js',
    ]);
    expect(builtins).toContain('inspector');
    expect(inputs).toContain('middleware/debug/render.ts');
  }, 60_000);
});
