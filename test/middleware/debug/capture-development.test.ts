/**
 * Under NODE_ENV=development (and `mortar serve --reload`, test/e2e/debug-reload.test.ts)
 * capture is on from the start: the first error, a POST's too, has its locals. (A file of its
 * own: the capture is one per process, and this one must start from scratch.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { debug } from '../../../middleware/debug/index.js';
import type { Application } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

const failing: Application = async (request) => {
  const order = await request.json();
  const total = order.items * 3;
  throw new Error(`cannot ship ${total}`);
};

afterEach(() => vi.unstubAllEnvs());

describe('debug(): capture under NODE_ENV=development', () => {
  it('captures the locals of the very first error', async () => {
    vi.stubEnv('NODE_ENV', 'development');
    const lines: string[] = [];
    const client = new TestClient(
      debug({ log: (line) => lines.push(line), secretFile: false })(failing),
    );
    const first = await client.post('/order', { json: { items: 4 } });
    const pin = /the debugger PIN is (\S+)/.exec(lines.join('\n'))![1];
    await client.post('/__debug__/pin', { headers: { origin: 'http://localhost' }, json: { pin } });
    const page = await client.get(`/__debug__/error/${first.headers.get('x-error-id')}`, {
      headers: { accept: 'application/json' },
    });
    const json = page.json<{ capture: string; locals: (Record<string, string> | null)[] }>();
    expect(json.capture).toBe('on');
    expect(json.locals[0]).toMatchObject({ order: '{ items: 4 }', total: '12' });
  });
});
