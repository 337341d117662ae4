/** loopDelay(): perf_hooks.monitorEventLoopDelay percentiles on a status line, for production. */
import { describe, expect, it } from 'vitest';
import { loopDelay } from '../../middleware/block-watch/index.js';

function block(milliseconds: number): void {
  const end = Date.now() + milliseconds;
  while (Date.now() < end) {
    // a block of the event loop
  }
}

describe('loopDelay()', () => {
  it('reports a block of the loop in its max and on its status line, then starts over', async () => {
    const lines: string[] = [];
    const delay = loopDelay({ interval: 1, log: (line) => lines.push(line), resolution: 10 });
    try {
      await new Promise((r) => setTimeout(r, 30));
      block(200);
      const maxOf = (line: string) => Number(/max ([\d.]+) ms/.exec(line)?.[1] ?? 0);
      for (let i = 0; i < 100 && !lines.some((l) => maxOf(l) >= 150); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const line = lines.find((l) => maxOf(l) >= 150);
      expect(line).toMatch(
        /^mortar loop-delay: p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms over \d+ s$/,
      );
      expect(delay.status().max).toBeLessThan(150); // each line starts the figures over
    } finally {
      delay.stop();
    }
  });

  it('refuses options it does not know or cannot use', () => {
    const seconds =
      /^loopDelay: option "interval" must be seconds \(an integer from 0 to 2147483\)/;
    expect(() => loopDelay({ interval: -1 })).toThrow(seconds);
    expect(() => loopDelay({ interval: 0.5 })).toThrow(seconds);
    // An hour in milliseconds: Node's timer would have fired every millisecond.
    expect(() => loopDelay({ interval: 3_600_000 })).toThrow(seconds);
    expect(() => loopDelay({ resolution: 0.5 })).toThrow(
      /^loopDelay: option "resolution" must be milliseconds \(an integer ≥ 1\), got 0\.5$/,
    );
    expect(() => loopDelay({ intervall: 5 } as never)).toThrow(
      /^loopDelay: unknown option "intervall" — did you mean "interval"\?$/,
    );
  });
});
