/**
 * Local variables at throw time, through a same-thread `node:inspector` session (DESIGN.md §4):
 * pause on every exception (the middleware's own try/catch makes every application error a
 * caught one), hand the live scope objects of the first frames to a sink keyed by the thrown
 * value, resume at once. Pauses are rate-limited; `node:` internals are blackboxed.
 */
import inspector from 'node:inspector';

/** What was captured for one thrown value: per frame, its function and live locals. */
export interface CapturedFrame {
  name: string;
  /** Variables of the frame's local, block and catch scopes, live. */
  locals: Record<string, unknown>;
}

/** Options of {@link LocalsCapture}. */
export interface CaptureOptions {
  /** Frames whose locals are read. Default `8`. */
  frames?: number;
  /** Pauses allowed per second before capture backs off for a second. Default `50`. */
  maxPausesPerSecond?: number;
}

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

  constructor(options: CaptureOptions = {}) {
    this.#frames = options.frames ?? 8;
    this.#maxPauses = options.maxPausesPerSecond ?? 50;
    Object.defineProperty(globalThis, this.#sink, {
      value: (value: unknown, kind: string, name: string) => this.#receive(value, kind, name),
      enumerable: false,
    });
    this.#session.connect();
    this.#session.post('Debugger.enable');
    this.#session.post('Debugger.setBlackboxPatterns', { patterns: ['^node:'] });
    this.#session.post('Debugger.setPauseOnExceptions', { state: 'all' });
    this.#session.on('Debugger.paused', (message) => this.#onPaused(message.params));
  }

  /** The locals captured when `error` was thrown, frame by frame (app frames first). */
  framesOf(error: unknown): CapturedFrame[] | undefined {
    return error !== null && typeof error === 'object' ? this.#captured.get(error) : undefined;
  }

  /** Stops capturing and disconnects the session. */
  close(): void {
    this.#session.post('Debugger.setPauseOnExceptions', { state: 'none' });
    this.#session.disconnect();
  }

  #receive(value: unknown, kind: string, name: string): void {
    if (kind === 'error') {
      if (value !== null && typeof value === 'object' && !this.#captured.has(value)) {
        this.#current = [];
        this.#captured.set(value, this.#current);
      } else this.#current = undefined;
    } else if (this.#current) {
      const last = this.#current.at(-1);
      if (last && last.name === name && kind === 'scope+') Object.assign(last.locals, value);
      else this.#current.push({ name, locals: { ...(value as Record<string, unknown>) } });
    }
  }

  #onPaused(params: inspector.Debugger.PausedEventDataType): void {
    try {
      if (params.reason !== 'exception' && params.reason !== 'promiseRejection') return;
      if (!this.#allowPause()) return;
      const thrown = params.data as { objectId?: string } | undefined;
      if (!thrown?.objectId) return;
      this.#call(thrown.objectId, 'error', '');
      let taken = 0;
      for (const frame of params.callFrames) {
        if (taken >= this.#frames) break;
        if (frame.url.startsWith('node:')) continue;
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
        if (first) this.#call(thrown.objectId, 'none', frame.functionName || '<anonymous>');
      }
    } finally {
      this.#session.post('Debugger.resume');
    }
  }

  /** Sends the object behind `objectId` to the sink (synchronously, with the callback form). */
  #call(objectId: string, kind: string, name: string): void {
    const sink = this.#sink;
    const body =
      kind === 'none'
        ? `function(){ globalThis.${sink}({}, 'scope', ${JSON.stringify(name)}) }`
        : `function(){ globalThis.${sink}(this, ${JSON.stringify(kind)}, ${JSON.stringify(name)}) }`;
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
        this.#session.post('Debugger.setPauseOnExceptions', { state: 'all' });
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
