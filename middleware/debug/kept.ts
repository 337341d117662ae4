/**
 * The errors the console can still evaluate against: a bounded LRU with a time to live, since
 * each one holds live references (the error, the request, the captured locals).
 */
import type { Environ } from '../../src/types.js';
import type { CapturedFrame } from './capture.js';
import type { ConsoleScope } from './console.js';
import type { Traceback } from './render.js';

/** One error as the console needs it. */
export interface KeptError {
  traceback: Traceback;
  error: unknown;
  request: Request;
  environ: Environ;
  /** Per app frame, the locals captured at throw time. */
  captured: (CapturedFrame | undefined)[];
  /** Per frame, the console's scope (assignments persist between evaluations). */
  scopes: Map<number, ConsoleScope>;
  /** Milliseconds since the epoch. */
  expires: number;
}

/** At most `maxErrors` errors, each for `ttl` milliseconds; the oldest go first. */
export class ErrorLog {
  readonly #entries = new Map<string, KeptError>();
  readonly #maxErrors: number;
  readonly #ttl: number;

  /** @param ttl - Milliseconds an error stays available. */
  constructor(maxErrors: number, ttl: number) {
    this.#maxErrors = maxErrors;
    this.#ttl = ttl;
  }

  /** Keeps an error (dropping expired ones and, past the bound, the oldest). */
  remember(entry: Omit<KeptError, 'expires' | 'scopes'>): void {
    const now = Date.now();
    for (const [id, value] of this.#entries) if (value.expires <= now) this.#entries.delete(id);
    this.#entries.set(entry.traceback.id, {
      ...entry,
      scopes: new Map(),
      expires: now + this.#ttl,
    });
    while (this.#entries.size > this.#maxErrors) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }

  /** The error `id` while it is kept; `undefined` once it expired or was dropped. */
  get(id: string): KeptError | undefined {
    const entry = this.#entries.get(id);
    if (entry && entry.expires <= Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  /** The console scope of `frame`: its captured locals, then `$err`, `$request`, `$environ`. */
  scopeOf(entry: KeptError, frame: number): ConsoleScope {
    let scope = entry.scopes.get(frame);
    if (!scope) {
      scope = {
        ...(entry.captured[frame]?.locals ?? {}),
        $err: entry.error,
        $request: entry.request,
        $environ: entry.environ,
      };
      entry.scopes.set(frame, scope);
    }
    return scope;
  }
}
