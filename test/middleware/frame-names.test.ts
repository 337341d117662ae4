/**
 * A request's stack through mortar's middleware names every mortar frame: the traceback
 * debug() and errors() show users reads `at session`, `at urlmapApp`, not `<anonymous>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseFrames } from '../../middleware/_shared/stack.js';
import { accessLog } from '../../middleware/access-log/index.js';
import { blockWatch, stopBlockWatch } from '../../middleware/block-watch/index.js';
import { bodyLimit } from '../../middleware/body-limit/index.js';
import { compress } from '../../middleware/compress/index.js';
import { csrf } from '../../middleware/csrf/index.js';
import { errors } from '../../middleware/errors/index.js';
import { helloWorld } from '../../middleware/hello/index.js';
import { lint } from '../../middleware/lint/index.js';
import { profile } from '../../middleware/profile/index.js';
import { fetchTransport, proxy } from '../../middleware/proxy/index.js';
import { nodeTransport } from '../../middleware/proxy/node.js';
import { proxyFix } from '../../middleware/proxy-fix/index.js';
import { session } from '../../middleware/session/index.js';
import { cascade, urlmap } from '../../middleware/urlmap/index.js';
import { type Application, compose } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The frames of `stack` in mortar's own files (not its tests, not its dependencies). */
const mortarFrames = (stack: string) =>
  parseFrames(stack).filter(
    (frame) =>
      frame.file.startsWith(root) &&
      !frame.file.includes('/node_modules/') &&
      !frame.file.includes('/test/'),
  );
const secret = 'a-frame-names-test-secret-that-is-long-enough';

describe('the frames of a request through mortar', () => {
  it('have names: no <anonymous> mortar frame from the gateway to the application', async () => {
    // Every frame, not V8's default 10 (debug() and errors() show what the runtime keeps).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 50;
    onTestFinished(() => {
      Error.stackTraceLimit = limit;
    });
    let stack = '';
    const fails: Application = () => {
      throw new Error('the application failed');
    };
    const site = compose(
      errors({
        log: () => {},
        onError: (error) => {
          stack = (error as Error).stack ?? '';
        },
      }),
      accessLog({ write: () => {} }),
      proxyFix(),
      session({ secret }),
      csrf({ token: false }),
      compress(),
      lint({ write: () => {} }),
      bodyLimit({ maxBytes: 1000 }),
      helloWorld(),
    )(urlmap({ '/app': cascade([fails]) }));
    const res = await new TestClient(site).get('/app/x');
    expect(res.status).toBe(500);
    await expect.poll(() => stack).not.toBe('');
    const mortar = mortarFrames(stack);
    expect(mortar.length).toBeGreaterThan(5);
    const unnamed = mortar.filter((frame) => frame.name === '<anonymous>');
    expect(unnamed).toEqual([]);
    expect(mortar.map((frame) => frame.name)).toEqual(
      expect.arrayContaining([
        'sessionApp',
        'urlmapApp',
        'cascadeApp',
        'proxyFixApp',
        'accessLogApp',
      ]),
    );
  });

  it('have names through profile, blockWatch and proxy down to its transport', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-frames-'));
    onTestFinished(async () => {
      await stopBlockWatch();
      rmSync(dir, { recursive: true, force: true });
    });
    let stack = '';
    // The upstream's fetch: it sees the stack from the gateway down to the proxy's transport.
    const upstream = (async () => {
      stack = new Error('the stack at the upstream').stack ?? '';
      return new Response('from upstream');
    }) as unknown as typeof fetch;
    const site = compose(
      profile({ dir, trigger: { query: 'profile' }, log: () => {} }),
      blockWatch({ log: () => {} }),
    )(urlmap({ '/api': proxy('http://127.0.0.1:9/v1', { transport: fetchTransport(upstream) }) }));
    const res = await new TestClient(site).get('/api/x');
    expect(await res.text()).toBe('from upstream');
    const mortar = mortarFrames(stack);
    expect(mortar.filter((frame) => frame.name === '<anonymous>')).toEqual([]);
    // V8 writes a method call's frame `Type.name [as property]`: the function's own name is `name`.
    const names = mortar.map((frame) => frame.name.replace(/ \[as .*\]$/, '').replace(/^.*\./, ''));
    expect(names).toEqual(
      expect.arrayContaining(['profileApp', 'blockWatchApp', 'proxyApp', 'fetchTransport']),
    );
    // Node's transport is named as fetch's is (its frames are undici's below it).
    expect(nodeTransport().name).toBe('nodeTransport');
  });
});
