/**
 * Capture after an error (the default outside development): requests pay nothing for the
 * inspector until an error arrives; from then on throws carry their locals. (A file of its own:
 * the capture is one per process, and this one must start from scratch.)
 */
import { describe, expect, it } from 'vitest';
import { debug } from '../../../middleware/debug/index.js';
import type { Application } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

const failing: Application = () => {
  const answer = 42;
  throw new Error(`failed with ${answer}`);
};

describe('debug(): capture starts with the first error', () => {
  it('shows no locals for the first error, says so, and captures from the next one', async () => {
    expect(process.env.NODE_ENV).toBe('test');
    const lines: string[] = [];
    const client = new TestClient(
      debug({ log: (line) => lines.push(line), secretFile: false })(failing),
    );
    const first = await client.get('/', { headers: { accept: 'text/html' } });
    const pin = /the debugger PIN is (\S+)/.exec(lines.join('\n'))![1];
    await client.post('/__debug__/pin', { headers: { origin: 'http://localhost' }, json: { pin } });
    const page = await client.get(`/__debug__/error/${first.headers.get('x-error-id')}`, {
      headers: { accept: 'text/html' },
    });
    expect(page.text()).toContain('Local variables are captured from the next error on');
    expect(page.text()).not.toContain('<td>answer</td>');
    const second = (await client.get('/', { headers: { accept: 'application/json' } })).json<{
      capture: string;
      locals: (Record<string, string> | null)[];
    }>();
    expect(second.capture).toBe('on');
    expect(second.locals[0]).toMatchObject({ answer: '42' });
  });
});
