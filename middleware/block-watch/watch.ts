/**
 * The main thread's half of the watchdog: the heartbeat (a timer writing the time into a
 * SharedArrayBuffer), the worker that watches it (watcher.js), the request each piece of code
 * runs for (track.ts), and the line written when the worker reports a block.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { terminalSafe } from '../../src/_internal/log.js';
import { type BlockFrame, type BlockRecord, rememberBlock } from '../_shared/blocks.js';
import { originalPosition, safeFilePath, shownPath } from '../_shared/source-map.js';
import { getRequestId } from '../access-log/index.js';
import type { Tracker } from './track.js';

/** The global the worker evaluates on the paused main thread to learn the running request. */
const CURRENT = Symbol.for('mortar.blockWatch.current');

/** What the worker posts once a block is over. */
interface Report {
  duration: number;
  frames: { name: string; url: string; line: number; column: number }[];
  /** JSON of {@link RequestInfo}, when code of a request was running. */
  request?: string;
}

type RequestInfo = NonNullable<BlockRecord['request']>;

/** One watcher per process: one heartbeat, one worker. */
export interface Watch {
  threshold: number;
  /** Finds the request a piece of code runs for, in the pause. */
  running: Tracker;
  stop(): Promise<void>;
}

/**
 * Starts the heartbeat and its worker.
 * @param threshold - Milliseconds of blocking worth a line.
 * @param log - Where each block's line goes.
 * @param running - How the request of the code that blocks is found.
 */
export function startWatch(
  threshold: number,
  log: (line: string) => void,
  running: Tracker,
): Watch {
  const interval = Math.max(5, Math.min(50, Math.round(threshold / 4)));
  const heartbeat = new SharedArrayBuffer(8);
  const beat = new Float64Array(heartbeat);
  beat[0] = Date.now();
  const timer = setInterval(() => {
    beat[0] = Date.now();
  }, interval);
  timer.unref();
  (globalThis as Record<symbol, unknown>)[CURRENT] = () => currentRequest(running);
  const worker = new Worker(new URL('./watcher.js', import.meta.url), {
    workerData: {
      heartbeat,
      threshold,
      interval,
      expression: `globalThis[Symbol.for('mortar.blockWatch.current')]?.()`,
    },
  });
  // A process whose loop runs out waits at exit for the inspector sessions of other threads to
  // disconnect ("Waiting for the debugger to disconnect..."): end the worker's first.
  const release = () => void worker.terminate();
  process.once('beforeExit', release);
  worker.on('message', (message: Report | { ready: true }) => {
    if ('duration' in message) report(message, threshold, log, running.none);
    else
      log(
        `mortar block-watch: watching the event loop (a line for each block over ${threshold} ms; ${running.how})`,
      );
  });
  worker.on('error', (error) => {
    log(`mortar block-watch: the watcher stopped: ${terminalSafe(String(error))}`);
  });
  worker.unref(); // after the listeners: adding a 'message' listener refs the worker again
  return {
    threshold,
    running,
    async stop() {
      process.off('beforeExit', release);
      clearInterval(timer);
      await worker.terminate();
    },
  };
}

/** The running request as JSON (the worker reads it by value), or `undefined` outside one. */
function currentRequest(running: Tracker): string | undefined {
  const store = running.current();
  if (!store) return undefined;
  const { request, environ } = store;
  const info: RequestInfo = { method: request.method, path: environ.scriptName + environ.pathInfo };
  try {
    info.id = getRequestId(environ);
  } catch {
    // no accessLog() outside blockWatch(): no id
  }
  return JSON.stringify(info);
}

/** Writes one block's line and keeps it for debug()'s page. */
function report(
  message: Report,
  threshold: number,
  log: (line: string) => void,
  none: string,
): void {
  if (message.duration < threshold) return; // a late timer, not a block
  const marked = message.frames.map(mapFrame);
  const frames = marked.map(({ internal: _, ...frame }) => frame);
  let request: RequestInfo | undefined;
  try {
    request = message.request ? (JSON.parse(message.request) as RequestInfo) : undefined;
  } catch {
    request = undefined;
  }
  const line = blockLine(message.duration, request, marked, none);
  const where = line.slice(line.indexOf(' at ') + 1);
  log(line);
  rememberBlock({
    time: Date.now(),
    duration: message.duration,
    frames,
    line,
    where,
    ...(request ? { request } : {}),
  });
}

/** A paused frame at its original (TypeScript) position when a source map covers it. */
function mapFrame(frame: Report['frames'][number]): BlockFrame & { internal: boolean } {
  const mapped = originalPosition(frame.url, frame.line, frame.column);
  const file = mapped?.file ?? safeFilePath(frame.url);
  return {
    name: frame.name || '<anonymous>',
    file: path.isAbsolute(file) ? shownPath(file) : file,
    line: mapped?.line ?? frame.line,
    column: mapped?.column ?? frame.column,
    // mortar's own code, whether its frame is known by the source or by the built file
    internal: !path.isAbsolute(file) || [file, safeFilePath(frame.url)].some(ownOrLibrary),
  };
}

/** mortar's own code (this package's middleware and contract): never "the code that blocked". */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MORTAR = [path.resolve(HERE, '..') + path.sep, path.resolve(HERE, '../../src') + path.sep];

const ownOrLibrary = (file: string) =>
  file.includes(`${path.sep}node_modules${path.sep}`) || MORTAR.some((dir) => file.startsWith(dir));

const internal = (frame: BlockFrame & { internal?: boolean }) => frame.internal !== false;

/**
 * `blocked 412 ms by GET /report (id 9f86…-12) at renderReport (src/report.ts:42:7) in
 * readFileSync (node:fs:441:3) < route (src/app.ts:10:3)`: the first frame of the
 * application's own code, the library or Node function it was inside, and two callers.
 */
export function blockLine(
  duration: number,
  request: RequestInfo | undefined,
  frames: readonly (BlockFrame & { internal?: boolean })[],
  none = 'no request (code outside any request)',
): string {
  const where = (frame: BlockFrame) =>
    `${frame.name} (${frame.file}:${frame.line}:${frame.column})`;
  const who = request
    ? `${request.method} ${request.path}${request.id ? ` (id ${request.id})` : ''}`
    : none;
  let at = 'at an unknown place (the block ended before its stack was sampled)';
  const own = frames.findIndex((frame) => !internal(frame));
  if (own >= 0) {
    at = `at ${where(frames[own]!)}`;
    if (own > 0) at += ` in ${where(frames[own - 1]!)}`;
    const callers = frames.slice(own + 1).filter((frame) => !internal(frame));
    for (const caller of callers.slice(0, 2)) at += ` < ${where(caller)}`;
  } else if (frames[0]) {
    at = `at ${where(frames[0])}`;
  }
  return terminalSafe(`mortar block-watch: blocked ${duration} ms by ${who} ${at}`);
}
