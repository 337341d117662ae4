/**
 * Local variables at throw time, through a same-thread `node:inspector` session (DESIGN.md §4):
 * pause on every exception (the middleware's own try/catch makes every application error a
 * caught one), hand the live scope objects of the first frames to a sink keyed by the thrown
 * value, resume at once. Pauses are rate-limited; `node:` internals are blackboxed.
 */
import inspector from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { is, optionChecker, renamedOption } from '../../src/_internal/options.js';
import { isOwnFrameFile } from '../_shared/stack.js';

/** A script URL as a file path (tsx and Node give file: URLs), else as it is. */
function filePath(url: string): string {
  try {
    return url.startsWith('file:') ? fileURLToPath(url.split('?')[0]!) : url;
  } catch {
    return url;
  }
}

/** What was captured for one thrown value: per frame, its function and live locals. */
export interface CapturedFrame {
  name: string;
  /** The frame's script, as a file path (or URL when it is not a file). */
  file: string;
  /** Variables of the frame's local, block and catch scopes, live. */
  locals: Record<string, unknown>;
}

/** Options of the locals capture (`debug({ capture })`). */
export interface CaptureOptions {
  /** Frames whose locals are read. @default 8 */
  frames?: number;
  /** Pauses allowed per second before capture backs off for a second. @default 50 */
  maxPausesPerSecond?: number;
  /**
   * When capture runs. `'after-error'` (default): the inspector is off until an error reaches
   * the debugger, then on (the next throws capture locals) until `idleTimeoutMs` milliseconds
   * pass without one — an enabled V8 debugger slows promise-heavy code by 20–60 %, which
   * requests that throw nothing should not pay. `'always'`: on from the start (the first error
   * has locals too).
   */
  mode?: 'after-error' | 'always';
  /**
   * Milliseconds without errors after which `'after-error'` capture turns off (1000 or more).
   * @default 120_000
   */
  idleTimeoutMs?: number;
  /**
   * @deprecated The old name of {@link CaptureOptions.idleTimeoutMs} (milliseconds, where
   *   session's `idleTimeout` is seconds); it still works until 0.4.
   */
  idleTimeout?: number;
}

/** The check of {@link CaptureOptions}, as `debug({ capture })` runs it. */
export const checkCaptureOptions = optionChecker<CaptureOptions>(
  'debug',
  {
    frames: is.positiveInteger,
    maxPausesPerSecond: is.positiveInteger,
    mode: is.oneOf('after-error', 'always'),
    idleTimeoutMs: is.milliseconds(1000),
    idleTimeout: is.milliseconds(1000),
  },
  'capture.',
);

/** A process-wide capture (there is one inspector session per process). */
export class LocalsCapture {
  readonly #session = new inspector.Session();
  readonly #captured = new WeakMap<object, CapturedFrame[]>();
  readonly #sink = `__mortarDebugSink_${Math.random().toString(36).slice(2)}`;
  readonly #frames: number;
  readonly #maxPauses: number;
  #windowStart = 0;
  #pauses = 0;
  #backedOff = false;
  #current: CapturedFrame[] | undefined;
  readonly #idle: number;
  #armed = false;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #always: boolean;
  readonly #scripts = new Map<string, string>();

  constructor(options: CaptureOptions = {}) {
    this.#frames = options.frames ?? 8;
    this.#maxPauses = options.maxPausesPerSecond ?? 50;
    checkCaptureOptions(options);
    this.#idle =
      renamedOption(options, 'idleTimeoutMs', 'idleTimeout', 'debug: capture') ?? 120_000;
    this.#always = options.mode === 'always';
    Object.defineProperty(globalThis, this.#sink, {
      value: (value: unknown, kind: string, name: string, file: string) =>
        this.#receive(value, kind, name, file),
      enumerable: false,
    });
    this.#session.connect();
    this.#session.on('Debugger.paused', (message) => this.#onPaused(message.params));
    // CallFrame.url is empty in current V8: scripts are known by id from their parse events.
    this.#session.on('Debugger.scriptParsed', (message) => {
      this.#scripts.set(message.params.scriptId, message.params.url);
    });
    if (this.#always) this.arm();
  }

  /** Whether throws are being captured now. */
  get armed(): boolean {
    return this.#armed;
  }

  /**
   * Turns capture on (an error was seen), and restarts the idle countdown after which it turns
   * off again (unless the mode is `'always'`).
   */
  arm(): void {
    if (!this.#armed) {
      this.#armed = true;
      this.#session.post('Debugger.enable');
      this.#session.post('Debugger.setBlackboxPatterns', { patterns: ['^node:'] });
      this.#session.post('Debugger.setPauseOnExceptions', { state: 'all' });
    }
    if (this.#always) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#disarm(), this.#idle);
    this.#idleTimer.unref();
  }

  #disarm(): void {
    if (!this.#armed) return;
    this.#armed = false;
    this.#session.post('Debugger.disable');
  }

  /** The locals captured when `error` was thrown, frame by frame (app frames first). */
  framesOf(error: unknown): CapturedFrame[] | undefined {
    return error !== null && typeof error === 'object' ? this.#captured.get(error) : undefined;
  }

  /** Stops capturing and disconnects the session. */
  close(): void {
    clearTimeout(this.#idleTimer);
    this.#disarm();
    this.#session.disconnect();
  }

  #receive(value: unknown, kind: string, name: string, file: string): void {
    if (kind === 'error') {
      if (value !== null && typeof value === 'object' && !this.#captured.has(value)) {
        this.#current = [];
        this.#captured.set(value, this.#current);
      } else this.#current = undefined;
    } else if (this.#current) {
      const last = this.#current.at(-1);
      if (last && last.name === name && kind === 'scope+') Object.assign(last.locals, value);
      else this.#current.push({ name, file, locals: { ...(value as Record<string, unknown>) } });
    }
  }

  #onPaused(params: inspector.Debugger.PausedEventDataType): void {
    // Not an exception: another session's pause (blockWatch()'s watchdog reading the stack of
    // a blocked loop), which that session resumes when it has read what it needs.
    if (params.reason !== 'exception' && params.reason !== 'promiseRejection') return;
    try {
      if (!this.#allowPause()) return;
      const thrown = params.data as { objectId?: string } | undefined;
      if (!thrown?.objectId) return;
      this.#call(thrown.objectId, 'error', '');
      let taken = 0;
      for (const frame of params.callFrames) {
        if (taken >= this.#frames) break;
        const url = frame.url || this.#scripts.get(frame.location.scriptId) || '';
        const file = filePath(url);
        // The debugger's own frames hold its PIN and token: never read their scopes.
        if (url.startsWith('node:') || isOwnFrameFile(file)) continue;
        taken++;
        let first = true;
        for (const scope of frame.scopeChain) {
          if (scope.type !== 'local' && scope.type !== 'block' && scope.type !== 'catch') continue;
          if (!scope.object.objectId) continue;
          this.#call(
            scope.object.objectId,
            first ? 'scope' : 'scope+',
            frame.functionName || '<anonymous>',
          );
          first = false;
        }
        if (first) this.#call(thrown.objectId, 'none', frame.functionName || '<anonymous>', file);
      }
    } finally {
      this.#session.post('Debugger.resume');
    }
  }

  /** Sends the object behind `objectId` to the sink (synchronously, with the callback form). */
  #call(objectId: string, kind: string, name: string, file = ''): void {
    const sink = this.#sink;
    const args = `${JSON.stringify(name)}, ${JSON.stringify(file)}`;
    const body =
      kind === 'none'
        ? `function(){ globalThis.${sink}({}, 'scope', ${args}) }`
        : `function(){ globalThis.${sink}(this, ${JSON.stringify(kind)}, ${args}) }`;
    this.#session.post('Runtime.callFunctionOn', { objectId, functionDeclaration: body }, () => {});
  }

  /** At most `maxPausesPerSecond`; past that, no pausing for a second. */
  #allowPause(): boolean {
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#pauses = 0;
      if (this.#backedOff) {
        this.#backedOff = false;
        if (this.#armed) this.#session.post('Debugger.setPauseOnExceptions', { state: 'all' });
      }
    }
    this.#pauses++;
    if (this.#pauses > this.#maxPauses) {
      this.#backedOff = true;
      this.#session.post('Debugger.setPauseOnExceptions', { state: 'none' });
      const timer = setTimeout(() => {
        this.#windowStart = 0;
        this.#allowPause();
        this.#pauses = 0;
      }, 1000);
      timer.unref();
      return false;
    }
    return true;
  }
}
