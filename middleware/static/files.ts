/**
 * The file-system side of `mortar/static`: what a path is (with realpath containment), a
 * metadata cache with a TTL, a small-file content cache checked against size and mtime, and
 * bodies that stream from one open descriptor and never disagree with their Content-Length.
 */
import { createReadStream, type Stats } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ByteRange, Multipart } from '../_shared/range.js';

/** What a path names, as far as serving goes. */
export type Entry =
  | { kind: 'file'; path: string; size: number; mtimeMs: number; ino: number }
  | { kind: 'directory'; path: string }
  | { kind: 'missing' };

/** Symlink policy: `'inside'` follows links whose target stays under the root. */
export type SymlinkPolicy = boolean | 'inside';

const MISSING: Entry = { kind: 'missing' };
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EACCES', 'EPERM']);

/** Options of {@link FileView}. */
export interface FileViewOptions {
  /** The real path of the root, or `undefined` for no containment (fileApp). */
  root: string | undefined;
  followSymlinks: SymlinkPolicy;
  /** How long, in milliseconds, a looked-up entry is trusted; 0 disables the cache. */
  ttl: number;
  /** Most entries kept. */
  maxEntries: number;
  /** Largest file, in bytes, whose content is kept in memory; 0 disables the content cache. */
  maxCachedFile: number;
  /** Most bytes kept in the content cache. */
  maxCachedBytes: number;
}

interface CachedContent {
  size: number;
  mtimeMs: number;
  bytes: Buffer;
}

/** A view of files under one root, with its caches. */
export class FileView {
  readonly #options: FileViewOptions;
  readonly #entries = new Map<string, { entry: Entry; expires: number }>();
  readonly #contents = new Map<string, CachedContent>();
  #contentBytes = 0;

  constructor(options: FileViewOptions) {
    this.#options = options;
  }

  /**
   * What `path` (absolute, under the root) is; symlinks resolved and contained. Answers
   * synchronously from the metadata cache when it can (no promise to wait for).
   */
  lookup(path: string): Entry | Promise<Entry> {
    if (this.#options.ttl > 0) {
      const cached = this.#entries.get(path);
      if (cached && cached.expires > Date.now()) return cached.entry;
    }
    return this.#lookupAndRemember(path);
  }

  async #lookupAndRemember(path: string): Promise<Entry> {
    const ttl = this.#options.ttl;
    const entry = await this.#lookup(path);
    if (ttl > 0) {
      if (this.#entries.size >= this.#options.maxEntries) {
        this.#entries.delete(this.#entries.keys().next().value as string);
      }
      this.#entries.set(path, { entry, expires: Date.now() + ttl });
    }
    return entry;
  }

  /** Forgets what is known of `path` (after it was seen to change). */
  forget(path: string): void {
    this.#entries.delete(path);
  }

  async #lookup(path: string): Promise<Entry> {
    let stats: Stats;
    try {
      stats = await stat(path);
    } catch (error) {
      if (NOT_FOUND_CODES.has((error as NodeJS.ErrnoException).code ?? '')) return MISSING;
      throw error;
    }
    if (!(await this.#contained(path))) return MISSING;
    if (stats.isFile()) {
      return { kind: 'file', path, size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
    }
    return stats.isDirectory() ? { kind: 'directory', path } : MISSING;
  }

  /** The realpath rule: where the path really lives must satisfy the symlink policy. */
  async #contained(path: string): Promise<boolean> {
    const { root, followSymlinks } = this.#options;
    if (root === undefined || followSymlinks === true) return true;
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return false;
    }
    if (followSymlinks === false) return real === path;
    return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
  }

  /** The content of a small file from memory, when size and mtime still match `entry`. */
  cachedContent(entry: Entry & { kind: 'file' }): Buffer | undefined {
    const cached = this.#contents.get(entry.path);
    return cached && cached.size === entry.size && cached.mtimeMs === entry.mtimeMs
      ? cached.bytes
      : undefined;
  }

  /**
   * The content of a small file, from memory when size and mtime still match `entry`, else
   * read from one descriptor. `undefined` when the file changed since `entry` was taken (the
   * caller looks it up again).
   */
  async content(entry: Entry & { kind: 'file' }): Promise<Buffer | undefined> {
    const cached = this.cachedContent(entry);
    if (cached) return cached;
    const handle = await open(entry.path, 'r');
    try {
      const stats = await handle.stat();
      if (stats.size !== entry.size || stats.mtimeMs !== entry.mtimeMs) return undefined;
      const bytes = Buffer.allocUnsafe(stats.size);
      let offset = 0;
      while (offset < bytes.byteLength) {
        const { bytesRead } = await handle.read(bytes, offset, bytes.byteLength - offset, offset);
        if (bytesRead === 0) return undefined; // shrank while we read
        offset += bytesRead;
      }
      this.#remember(entry.path, { size: stats.size, mtimeMs: stats.mtimeMs, bytes });
      return bytes;
    } finally {
      await handle.close();
    }
  }

  #remember(path: string, content: CachedContent): void {
    const { maxCachedBytes } = this.#options;
    const old = this.#contents.get(path);
    if (old) {
      this.#contents.delete(path);
      this.#contentBytes -= old.bytes.byteLength;
    }
    while (this.#contentBytes + content.bytes.byteLength > maxCachedBytes && this.#contents.size) {
      const [oldest, value] = this.#contents.entries().next().value as [string, CachedContent];
      this.#contents.delete(oldest);
      this.#contentBytes -= value.bytes.byteLength;
    }
    if (content.bytes.byteLength <= maxCachedBytes) {
      this.#contents.set(path, content);
      this.#contentBytes += content.bytes.byteLength;
    }
  }

  /** Whether a file of `size` bytes is served from memory. */
  cacheable(size: number): boolean {
    return size <= this.#options.maxCachedFile;
  }

  /**
   * Opens `entry` for streaming, or `undefined` when it changed since `entry` was taken.
   * The caller owns the handle (every body below closes it).
   */
  async openFor(entry: Entry & { kind: 'file' }): Promise<FileHandle | undefined> {
    const handle = await open(entry.path, 'r');
    try {
      const stats = await handle.stat();
      if (stats.size === entry.size && stats.mtimeMs === entry.mtimeMs) return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
    await handle.close();
    return undefined;
  }
}

/** Fails the stream when fewer than `expected` bytes went through it (the file shrank). */
class ExactLength extends Transform {
  #remaining: number;
  constructor(expected: number) {
    super();
    this.#remaining = expected;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#remaining -= chunk.byteLength;
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    callback(
      this.#remaining === 0
        ? null
        : new Error(`the file changed while it was served (${this.#remaining} bytes short)`),
    );
  }
}

/**
 * A body for bytes `start`…`end` (inclusive) of the file at `path`, opened as the stream
 * starts (one open, no stat: the metadata the headers came from is checked by the byte count
 * instead). It never reads past `end`; when the file ends early (it shrank, or was replaced)
 * the stream fails, so the gateway cuts the connection rather than end a response shorter
 * than its Content-Length. The descriptor is closed on end, error and destroy (client
 * abort, HEAD).
 */
export function fileStream(path: string, start: number, end: number): Readable {
  const source = createReadStream(path, { start, end, highWaterMark: 256 * 1024 });
  const checked = new ExactLength(end - start + 1);
  source.on('error', (error) => checked.destroy(error));
  checked.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(checked);
}

/** A `multipart/byteranges` body for `ranges` of an open file; closes the handle at the end. */
export function multipartStream(
  handle: FileHandle,
  ranges: readonly ByteRange[],
  framing: Multipart,
): Readable {
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  async function* parts(): AsyncGenerator<Buffer> {
    try {
      for (const [index, range] of ranges.entries()) {
        yield framing.heads[index]!;
        let position = range.start;
        while (position <= range.end) {
          const length = Math.min(64 * 1024, range.end - position + 1);
          const { bytesRead, buffer } = await handle.read(
            Buffer.alloc(length),
            0,
            length,
            position,
          );
          if (bytesRead === 0) throw new Error('the file changed while it was served');
          yield buffer.subarray(0, bytesRead);
          position += bytesRead;
        }
      }
      yield framing.tail;
    } finally {
      await close();
    }
  }
  const body = Readable.from(parts(), { objectMode: false });
  // Destroyed before the first read, the generator never runs its `finally`.
  body.once('close', () => void close().catch(() => {}));
  return body;
}
