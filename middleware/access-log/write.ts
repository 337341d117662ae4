/**
 * Where the access log's lines go: buffered, as nginx's `access_log … buffer= flush=` does, so
 * a busy server makes a write every few hundred requests rather than one a request (a write is
 * a system call — on a hello world, the cost of the whole log line again; and a turn of the
 * event loop carries only a request or two, so batching by turn saves little). No runtime
 * module is imported: the sink is found on `globalThis.process` (Node, Bun, Deno 2), else
 * lines go to `console.error`.
 */

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

/** Runs `callback` after `ms` without keeping the process alive for it (where timers can say so). */
function later(callback: () => void, ms: number): void {
  if (ms === 0 && typeof globalThis.setImmediate === 'function') {
    globalThis.setImmediate(callback);
    return;
  }
  const timer = setTimeout(callback, ms) as { unref?: () => void } | number;
  if (typeof timer === 'object') timer.unref?.();
}

const checkCount = (value: number, name: string, least: number): number => {
  if (!Number.isInteger(value) || value < least) {
    throw new TypeError(`batchedWriter ${name}: expected an integer ≥ ${least}, got ${value}`);
  }
  return value;
};

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
 * A sink that throws, or (a stream) emits `'error'` — EPIPE once a pipe's reader has gone, a
 * full disk — loses those lines and the process goes on; the first such error is reported on
 * `console.error`. (The writer listens for `'error'` on the sink for as long as it lives.)
 *
 * ```ts
 * accessLog({ write: batchedWriter(createWriteStream('access.log', { flags: 'a' })) })
 * ```
 *
 * @throws TypeError at construction for a `bufferSize` below 1 or a negative `flushAfterMs`.
 */
export function batchedWriter(
  sink: LineSink,
  options: BatchedWriterOptions = {},
): (line: string) => void {
  const bufferSize = checkCount(options.bufferSize ?? 16 * 1024, 'bufferSize', 1);
  const flushAfterMs = checkCount(options.flushAfterMs ?? 100, 'flushAfterMs', 0);
  let lines = '';
  let scheduled = false;
  let reported = false;
  const failed = (error: unknown): void => {
    if (reported) return;
    reported = true;
    console.error('accessLog: writing the log failed (lines are lost):', error);
  };
  // A stream reports a failed write (EPIPE once a pipe's reader left, a full disk) as an
  // 'error' event, which would end the process with no listener: the log listens instead.
  (sink as { on?: (event: string, listener: (error: unknown) => void) => unknown }).on?.(
    'error',
    failed,
  );
  const flush = (): void => {
    pending.delete(flush);
    if (lines === '') return;
    const chunk = lines;
    lines = '';
    try {
      sink.write(chunk);
    } catch (error) {
      failed(error);
    }
  };
  const timed = (): void => {
    scheduled = false;
    flush();
  };
  return (line) => {
    if (lines === '') flushAtExit(flush);
    lines += `${line}\n`;
    if (lines.length >= bufferSize) flush();
    else if (!scheduled) {
      scheduled = true;
      later(timed, flushAfterMs);
    }
  };
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
