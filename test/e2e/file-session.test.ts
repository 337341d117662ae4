/**
 * FileStore across processes, and its housekeeping.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../middleware/session/file.js';
import { getSession, session } from '../../middleware/session/index.js';
import { type Application, FastResponse } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';
import { runWriters } from '../helpers/writers.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-filestore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dump: Application = async (_request, environ) => {
  const s = await getSession(environ);
  if (!s.has('count')) s.set('count', 1);
  return FastResponse.json(Object.fromEntries(s.keys().map((k) => [k, s.get(k)])));
};

describe('FileStore', () => {
  it('two processes writing different keys of one session at once lose neither', async () => {
    const store = new FileStore(dir);
    const client = new TestClient(session({ secret: SECRET, store })(dump));
    const cookie = (await client.get('/')).headers.getSetCookie()[0]!.split(';')[0]!;
    await runWriters(`file:${dir}`, cookie, ['alpha', 'beta'], 100);
    const data = (await client.get('/', { headers: { cookie } })).json<Record<string, number>>();
    expect(data).toEqual({ count: 1, alpha: 100, beta: 100 });
  });

  it('derives file names only from ids of our shape', async () => {
    // A folder of its own: the shared one holds a real session whose random id may start
    // with "A" (one run in 64 failed on that).
    const own = mkdtempSync(path.join(tmpdir(), 'mortar-filestore-ids-'));
    try {
      const store = new FileStore(own);
      writeFileSync(
        path.join(own, 'outside.json'),
        JSON.stringify({ record: {}, expires: Date.now() + 60_000 }),
      );
      for (const id of ['../outside', 'outside', '', 'A'.repeat(31), `${'A'.repeat(32)}/x`]) {
        expect(await store.get(id)).toBeUndefined();
        await store.set(id, { data: { x: 1 }, createdAt: 0, accessedAt: 0 }, 60);
      }
      expect(readdirSync(own).filter((name) => name !== 'outside.json')).toEqual([]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('sweeps expired files and leaves live ones', async () => {
    const own = mkdtempSync(path.join(tmpdir(), 'mortar-filestore-sweep-'));
    try {
      const store = new FileStore(own);
      await store.set('E'.repeat(32), { data: {}, createdAt: 0, accessedAt: 0 }, 1);
      await store.set('L'.repeat(32), { data: {}, createdAt: 0, accessedAt: 0 }, 60);
      await new Promise((r) => setTimeout(r, 1100));
      await store.sweep();
      expect(existsSync(path.join(own, `${'E'.repeat(32)}.json`))).toBe(false);
      expect(existsSync(path.join(own, `${'L'.repeat(32)}.json`))).toBe(true);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
