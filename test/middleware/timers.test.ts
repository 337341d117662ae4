// Timers take milliseconds across the API (DESIGN.md §1): a sweep period given in seconds
// fails at construction instead of sweeping a thousand times too often.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalsCapture } from '../../middleware/debug/capture.js';
import { FileStore } from '../../middleware/session/file.js';
import { MemoryStore } from '../../middleware/session/index.js';

describe('sweep timers are in milliseconds', () => {
  afterEach(() => vi.useRealTimers());

  it('MemoryStore refuses a period under a second, naming the unit', () => {
    expect(() => new MemoryStore({ sweepInterval: 60 })).toThrow(
      /^MemoryStore: option "sweepInterval" must be milliseconds \(an integer ≥ 1000\), got 60$/,
    );
  });

  it('MemoryStore sweeps every sweepInterval milliseconds', async () => {
    vi.useFakeTimers();
    const store = new MemoryStore({ sweepInterval: 2000 });
    await store.set('a'.repeat(32), { data: {}, createdAt: 0, accessedAt: 0 }, 1);
    expect(store.size).toBe(1);
    vi.advanceTimersByTime(1999);
    expect(store.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(store.size).toBe(0);
  });

  it('FileStore refuses a period under a second', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mortar-timers-'));
    try {
      expect(() => new FileStore(dir, { sweepInterval: 600 })).toThrow(
        /FileStore: option "sweepInterval" must be milliseconds/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("debug()'s capture idle timeout is in milliseconds", () => {
    expect(() => new LocalsCapture({ idleTimeoutMs: 120 })).toThrow(
      /debug: option "capture\.idleTimeoutMs" must be milliseconds/,
    );
  });
});
