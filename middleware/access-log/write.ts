/**
 * Where the access log's lines go: buffered, as nginx's `access_log … buffer= flush=` does, so
 * a busy server makes a write every few hundred requests rather than one a request (a write is
 * a system call — on a hello world, the cost of the whole log line again; and a turn of the
 * event loop carries only a request or two, so batching by turn saves little). No runtime
 * module is imported: the sink is found on `globalThis.process` (Node, Bun, Deno 2), else
 * lines go to `console.error`.
 */

import { is, optionChecker } from '../../src/_internal/options.js';

/** What {@link batchedWriter} writes to: `process.stderr`, a file stream, a socket. */
export interface LineSink {
  write(chunk: string): unknown;
}

/** Options of {@link batchedWriter}. */
export interface BatchedWriterOptions {
  /**
   * Write as soon as this many characters wait (nginx's `buffer=`).
   * @default 16384
   */
  bufferSize?: number;
  /**
   * Write what waits at most this many milliseconds after its first line (nginx's `flush=`);
   * `0` for the next turn of the event loop.
   * @default 100
   */
  flushAfterMs?: number;
}

/** The writers holding lines, flushed when the process exits (one listener for all). */
const pending = new Set<() => void>();
let exitHooked = false;

function flushAtExit(flush: () => void): void {
  pending.add(flush);
  if (exitHooked) return;
  exitHooked = true;
  const process = (globalThis as { process?: { once?: (event: string, f: () => void) => void } })
    .process;
  process?.once?.('exit', () => {
    for (const each of [...pending]) each();
  });
}

/**
 * Runs `callback` after `ms` without keeping the process alive for it (where timers can say so).
 * @returns What cancels it.
 */
function later(callback: () => void, ms: number): () => void {
  if (
    ms === 0 &&
    typeof globalThis.setImmediate === 'function' &&
    typeof globalThis.clearImmediate === 'function'
  ) {
    const immediate = globalThis.setImmediate(callback);
    return () => globalThis.clearImmediate(immediate);
  }
  const timer = setTimeout(callback, ms);
  (timer as { unref?: () => void }).unref?.();
  return () => clearTimeout(timer);
}

const checkOptions = optionChecker<BatchedWriterOptions>('batchedWriter', {
  bufferSize: is.integer(1),
  flushAfterMs: is.milliseconds(0),
});

/**
 * A line whose text is made when its batch is written, not when it is added: the access log
 * formats a busy server's lines in batches (see {@link batchedWriter}).
 */
export interface DeferredLine {
  /** The line's text without a newline; `undefined` when it could not be made (said already). */
  render(): string | undefined;
}

/** The most deferred lines made at once; fewer when `bufferSize` is small. */
const MOST_DEFERRED = 64;

/** What {@link batchedWriter} returns, with its batch where {@link lineBatch} finds it. */
const BATCH = Symbol('mortar.access-log.batch');

/** The lines waiting for one sink: text, and then lines deferred to be made at the next write. */
class LineBatch {
  readonly #sink: LineSink;
  readonly #bufferSize: number;
  readonly #flushAfterMs: number;
  /** Deferred lines are made once this many wait (about `bufferSize` / 256, 1 to 64). */
  readonly #deferAtMost: number;
  #text = '';
  #deferred: DeferredLine[] = [];
  /** Cancels the timed flush of the lines waiting; `undefined` when none waits. */
  #cancelTimer: (() => void) | undefined;
  /** Resolves the promise the batch's first line got, once its lines are written. */
  #written: (() => void) | undefined;
  #reported = false;

  constructor(sink: LineSink, bufferSize: number, flushAfterMs: number) {
    this.#sink = sink;
    this.#bufferSize = bufferSize;
    this.#flushAfterMs = flushAfterMs;
    this.#deferAtMost = Math.max(1, Math.min(MOST_DEFERRED, Math.floor(bufferSize / 256)));
    // A stream reports a failed write (EPIPE once a pipe's reader left, a full disk) as an
    // 'error' event, which would end the process with no listener: the log listens instead.
    (sink as { on?: (event: string, listener: (error: unknown) => void) => unknown }).on?.(
      'error',
      this.#failed,
    );
  }

  /**
   * Adds a finished line (after the deferred ones waiting, which are made first: the order
   * holds).
   * @returns For the first line of a batch, a promise of its write (see {@link LineBatch.defer}).
   */
  add(line: string): Promise<void> | undefined {
    const written = this.#waiting();
    if (this.#deferred.length > 0) this.#make();
    this.#text += `${line}\n`;
    if (this.#text.length >= this.#bufferSize) this.flush();
    return written;
  }

  /**
   * Adds a line made later, when `#deferAtMost` of them wait or at the next write: made in a
   * batch, lines cost a busy server a quarter to a third less than made one by one between
   * its requests (`npm run bench:access-log`: the formatting code stays hot in the caches).
   * @returns For the first line of a batch, a promise that resolves once the batch is
   *   written: what the access log gives `waitUntil`, so a runtime that ends a request's
   *   timers with it (Workers) still writes the batch; `undefined` for the others.
   */
  defer(line: DeferredLine): Promise<void> | undefined {
    const written = this.#waiting();
    this.#deferred.push(line);
    if (this.#deferred.length >= this.#deferAtMost) {
      this.#make();
      if (this.#text.length >= this.#bufferSize) this.flush();
    }
    return written;
  }

  /** Writes everything waiting now, in one `write` of the sink. */
  readonly flush = (): void => {
    pending.delete(this.flush);
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const written = this.#written;
    this.#written = undefined;
    if (this.#deferred.length > 0) this.#make();
    if (this.#text !== '') {
      const chunk = this.#text;
      this.#text = '';
      try {
        this.#sink.write(chunk);
      } catch (error) {
        this.#failed(error);
      }
    }
    written?.();
  };

  /**
   * The first line of a batch: the timer and the exit flush are set.
   * @returns A promise of the batch's write, for the first line of a batch.
   */
  #waiting(): Promise<void> | undefined {
    if (this.#text !== '' || this.#deferred.length > 0 || this.#cancelTimer) return undefined;
    flushAtExit(this.flush);
    this.#cancelTimer = later(this.flush, this.#flushAfterMs);
    return new Promise<void>((resolve) => {
      this.#written = resolve;
    });
  }

  /** Makes the deferred lines' text. */
  #make(): void {
    const deferred = this.#deferred;
    this.#deferred = [];
    let text = this.#text;
    for (const line of deferred) {
      const made = line.render();
      if (made !== undefined) text += `${made}\n`;
    }
    this.#text = text;
  }

  readonly #failed = (error: unknown): void => {
    if (this.#reported) return;
    this.#reported = true;
    console.error('accessLog: writing the log failed (lines are lost):', error);
  };
}

/**
 * A line writer for {@link accessLog}'s `write` option that buffers: lines reach `sink` in one
 * `write` call, newline-terminated, once `bufferSize` characters wait or `flushAfterMs` after
 * the first of them — whichever comes first. The lines still waiting when the process exits
 * — `process.exit()` or an uncaught error included — are written in its `exit` event, which
 * completes for `process.stderr` (its writes to a file, pipe or terminal are synchronous on
 * Node) but not for a sink whose writes are asynchronous (a file `WriteStream`): such a sink
 * may lose the last `flushAfterMs` of lines when the process is made to exit. A `SIGKILL`
 * loses them whatever the sink.
 *
 * Given to `accessLog`, it also lets the log format its lines in batches as they are written
 * (up to 64 at a time, fewer for a `bufferSize` under 16 KiB): the lines and their order are
 * the same, and they reach the sink by the same two rules — `bufferSize` counted as each batch
 * is made — for less work.
 *
 * A sink that throws, or (a stream) emits `'error'` — EPIPE once a pipe's reader has gone, a
 * full disk — loses those lines and the process goes on; the first such error is reported on
 * `console.error`. (The writer listens for `'error'` on the sink for as long as it lives.)
 *
 * ```ts
 * import { createWriteStream } from 'node:fs';
 *
 * accessLog({ write: batchedWriter(createWriteStream('access.log', { flags: 'a' })) })
 * ```
 *
 * @throws ConfigError at construction for an unknown option, a `bufferSize` below 1 or a
 *   negative `flushAfterMs`.
 */
export function batchedWriter(
  sink: LineSink,
  options: BatchedWriterOptions = {},
): (line: string) => void {
  checkOptions(options);
  const bufferSize = options.bufferSize ?? 16 * 1024;
  const flushAfterMs = options.flushAfterMs ?? 100;
  const batch = new LineBatch(sink, bufferSize, flushAfterMs);
  const write = (line: string): void => void batch.add(line);
  return Object.defineProperty(write, BATCH, { value: batch });
}

/** The batch behind a {@link batchedWriter}'s function, or `undefined` for any other writer. */
export function lineBatch(write: (line: string) => void): Pick<LineBatch, 'defer'> | undefined {
  return (write as { [BATCH]?: LineBatch })[BATCH];
}

let stderrWriter: ((line: string) => void) | undefined;

/**
 * The default writer: stderr, buffered — one writer for every `accessLog()` that uses it (one
 * buffer, one `'error'` listener on stderr); `console.error` a line at a time where there is
 * no `process.stderr`.
 */
export function defaultWriter(): (line: string) => void {
  if (stderrWriter) return stderrWriter;
  const stderr = (globalThis as { process?: { stderr?: Partial<LineSink> } }).process?.stderr;
  stderrWriter =
    typeof stderr?.write === 'function'
      ? batchedWriter(stderr as LineSink)
      : (line) => console.error(line);
  return stderrWriter;
}
