/**
 * Capture after an error (the default): requests pay nothing for the inspector until an error
 * arrives; from then on throws carry their locals. (A file of its own: the capture is one per
 * process, and this one must start from scratch.)
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
    const lines: string[] = [];
    const client = new TestClient(debug({ log: (line) => lines.push(line) })(failing));
    const get = async () => {
      const res = await client.get('/', { headers: { accept: 'application/json' } });
      const pin = /the console PIN is (\S+)/.exec(lines.join('\n'))![1];
      const unlocked = await client.post('/__debug__/pin', {
        headers: { origin: 'http://localhost' },
        json: { pin, id: res.headers.get('x-error-id') },
      });
      return {
        capture: res.json<{ capture: string }>().capture,
        locals: unlocked.json<{ locals: (Record<string, string> | null)[] }>().locals,
      };
    };
    const first = await client.get('/', { headers: { accept: 'text/html' } });
    expect(first.text()).toContain('Local variables are captured from the next error on');
    expect(first.text()).not.toContain('<td>answer</td>');
    const second = await get();
    expect(second.capture).toBe('on');
    expect(second.locals[0]).toMatchObject({ answer: '42' });
  });
});
