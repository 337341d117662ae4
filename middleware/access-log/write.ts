/**
 * Where the access log's lines go: batched, so a busy server makes one write a turn of the
 * event loop rather than one a request (a write to stderr is a system call, ~1 µs — the cost
 * of the whole log line again). No runtime module is imported: the sink is found on
 * `globalThis.process` (Node, Bun, Deno 2), else lines go to `console.error`.
 */

/** What {@link batchedWriter} writes to: `process.stderr`, a file stream, a socket. */
export interface LineSink {
  write(chunk: string): unknown;
}

/** Flush at once past this many UTF-16 units, so one busy turn does not hold a large string. */
const MAX_PENDING = 64 * 1024;

/** The next turn of the event loop: `setImmediate` where there is one, else a 0 ms timer. */
const nextTurn: (callback: () => void) => void =
  typeof globalThis.setImmediate === 'function'
    ? (callback) => {
        globalThis.setImmediate(callback);
      }
    : (callback) => {
        setTimeout(callback, 0);
      };

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
 * A line writer for {@link accessLog}'s `write` option that batches: the lines written in one
 * turn of the event loop reach `sink` in one `write` call, newline-terminated, at the next turn
 * (or at once past 64 KiB). The lines still waiting when the process exits — `process.exit()`
 * or an uncaught error included — are written in its `exit` event, which completes for
 * `process.stderr` (its writes to a file, pipe or terminal are synchronous on Node) but not
 * for a sink whose writes are asynchronous (a file `WriteStream`): such a sink may lose the
 * last turn's lines when the process is made to exit.
 *
 * A sink that throws loses that batch; the first such error is reported on `console.error`.
 *
 * ```ts
 * accessLog({ write: batchedWriter(createWriteStream('access.log', { flags: 'a' })) })
 * ```
 */
export function batchedWriter(sink: LineSink): (line: string) => void {
  let lines = '';
  let scheduled = false;
  let reported = false;
  const flush = (): void => {
    scheduled = false;
    pending.delete(flush);
    if (lines === '') return;
    const chunk = lines;
    lines = '';
    try {
      sink.write(chunk);
    } catch (error) {
      if (!reported) {
        reported = true;
        console.error('accessLog: writing the log failed (lines are lost):', error);
      }
    }
  };
  return (line) => {
    lines += `${line}\n`;
    if (lines.length >= MAX_PENDING) flush();
    else if (!scheduled) {
      scheduled = true;
      flushAtExit(flush);
      nextTurn(flush);
    }
  };
}

/** The default writer: stderr, batched; `console.error` a line at a time where there is none. */
export function defaultWriter(): (line: string) => void {
  const stderr = (globalThis as { process?: { stderr?: Partial<LineSink> } }).process?.stderr;
  if (typeof stderr?.write === 'function') return batchedWriter(stderr as LineSink);
  return (line) => console.error(line);
}
