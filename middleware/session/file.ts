/**
 * `FileStore`: one JSON file per session in a folder, for several processes on one host. Its
 * cross-process lock is proper-lockfile's, an optional peer dependency (as the Redis store's
 * client is): `npm install proper-lockfile` beside mortar.
 * @module mortar/session/file
 */
import { mkdirSync } from 'node:fs';
import { readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as Lockfile from 'proper-lockfile';
import { requireOptional } from '../../src/_internal/optional.js';
import { is, optionChecker } from '../../src/_internal/options.js';
import { isSessionId } from './signing.js';
import type { ServerStore, SessionRecord } from './store.js';

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** Milliseconds between sweeps of expired session files (a timer: 1000 or more). @default 600_000 */
  sweepInterval?: number;
  /** Milliseconds after which a lock left by a crashed process is taken over. @default 10_000 */
  staleLock?: number;
}

const checkOptions = optionChecker<FileStoreOptions>('FileStore', {
  sweepInterval: is.milliseconds(1000),
  staleLock: is.milliseconds(1),
});

interface StoredFile {
  record: SessionRecord;
  /** Milliseconds since the epoch. */
  expires: number;
}

/**
 * Sessions as files `<id>.json` in `dir`. Writes are atomic (a temporary file renamed over
 * the old one), so a reader sees the old or the new session, never half of one. Every write
 * holds a per-session lock that other processes respect too (proper-lockfile's `<id>.json.lock`
 * folder, taken over when stale), which makes {@link FileStore.update} a safe read-modify-write
 * across processes. File names come only from ids that have the shape of ours; any other id
 * reads as absent. Expired files are swept every `sweepInterval` milliseconds.
 */
export class FileStore implements ServerStore {
  readonly dir: string;
  readonly #staleLock: number;
  readonly #lockfile = requireOptional<typeof Lockfile>(
    'proper-lockfile',
    'FileStore needs proper-lockfile: npm install proper-lockfile',
  );

  /**
   * @throws ConfigError for an unknown option or a value of the wrong kind; Error when `dir`
   *   cannot be created, or saying to `npm install proper-lockfile` when that is not installed.
   */
  constructor(dir: string, options: FileStoreOptions = {}) {
    checkOptions(options);
    this.dir = path.resolve(dir);
    mkdirSync(this.dir, { recursive: true });
    this.#staleLock = options.staleLock ?? 10_000;
    const sweep = setInterval(
      () => void this.sweep().catch(() => {}),
      options.sweepInterval ?? 600_000,
    );
    sweep.unref();
  }

  #file(id: string): string | undefined {
    return isSessionId(id) ? path.join(this.dir, `${id}.json`) : undefined;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const file = this.#file(id);
    return file === undefined ? undefined : (await this.#read(file))?.record;
  }

  async set(id: string, record: SessionRecord, ttl: number): Promise<void> {
    await this.#locked(id, (file) => this.#write(file, record, ttl));
  }

  async destroy(id: string): Promise<void> {
    await this.#locked(id, (file) => removeFile(file));
  }

  async touch(id: string, record: SessionRecord, ttl: number): Promise<void> {
    await this.#locked(id, async (file) => {
      const current = await this.#read(file);
      if (current)
        await this.#write(file, { ...current.record, accessedAt: record.accessedAt }, ttl);
    });
  }

  async update(
    id: string,
    ttl: number,
    change: (current: SessionRecord | undefined) => SessionRecord,
  ): Promise<void> {
    await this.#locked(id, async (file) => {
      const current = await this.#read(file);
      await this.#write(file, change(current?.record), ttl);
    });
  }

  /** Removes expired session files and leftover temporary files now. */
  async sweep(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith('.json')) await this.#read(file, now);
      else if (name.endsWith('.tmp')) {
        const info = await stat(file).catch(() => undefined);
        if (info && now - info.mtimeMs > 60_000) await removeFile(file);
      }
    }
  }

  /** The stored file, or undefined when absent, unreadable or expired (which removes it). */
  async #read(file: string, now = Date.now()): Promise<StoredFile | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let stored: StoredFile | undefined;
    try {
      stored = JSON.parse(text) as StoredFile;
    } catch {
      stored = undefined;
    }
    if (!stored || typeof stored.expires !== 'number' || stored.expires <= now) {
      await removeFile(file);
      return undefined;
    }
    return stored;
  }

  async #write(file: string, record: SessionRecord, ttl: number): Promise<void> {
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const stored: StoredFile = { record, expires: Date.now() + ttl * 1000 };
    await writeFile(temporary, JSON.stringify(stored), { mode: 0o600 });
    await rename(temporary, file);
  }

  /** Runs `work` holding the session's cross-process lock. */
  async #locked(id: string, work: (file: string) => Promise<void>): Promise<void> {
    const file = this.#file(id);
    if (file === undefined) return;
    const release = await this.#lockfile.lock(file, {
      realpath: false,
      stale: this.#staleLock,
      retries: { retries: 200, minTimeout: 2, maxTimeout: 50, factor: 1.5 },
    });
    try {
      await work(file);
    } finally {
      await release();
    }
  }
}

async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
