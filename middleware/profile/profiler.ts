/**
 * The process's CPU profiler: one same-thread `node:inspector` session (as debug()'s capture),
 * kept warm, and profiled requests run one at a time unless told otherwise.
 *
 * Warm: V8 builds its map of compiled code at the start of a profile when no other profile is
 * running — it walks the heap, which takes seconds on a large one (1.2–1.7 s measured on a
 * 585 MB heap, with a fresh session per request or one kept session alike). A background
 * profile left running (the inspector console's `profile()`, restarted each minute so its samples do not pile
 * up) keeps that map alive: a request's profile then starts in a tenth of a millisecond.
 */
import inspector from 'node:inspector';

/** A V8 CPU profile, as DevTools' `.cpuprofile` files hold it. */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds. */
  startTime: number;
  /** Microseconds. */
  endTime: number;
  samples?: number[];
  /** Microseconds between samples. */
  timeDeltas?: number[];
}

/** One node of a profile's call tree. */
export interface CpuProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    scriptId: string;
    url: string;
    /** 0-based. */
    lineNumber: number;
    /** 0-based. */
    columnNumber: number;
  };
  hitCount?: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}

const KEEP_WARM_FOR = 60_000;

/** One per process: node:inspector has one session per thread for this. */
export class Profiler {
  readonly #session = new inspector.Session();
  readonly #finished = new Map<string, CpuProfile>();
  #queue: Promise<void> = Promise.resolve();
  #count = 0;
  #warm: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(warm = true) {
    this.#session.connect();
    this.#session.on('Profiler.consoleProfileFinished', (message) => {
      const { title, profile } = message.params;
      if (title && title !== this.#warm) this.#finished.set(title, profile as CpuProfile);
    });
    this.#session.post('Profiler.enable');
    if (warm) this.#keepWarm();
  }

  /** Starts the next background profile before ending the last, so one always runs. */
  #keepWarm(): void {
    const last = this.#warm;
    this.#warm = `mortar-profile-warm-${++this.#count}`;
    inspector.console.profile(this.#warm);
    if (last) inspector.console.profileEnd(last);
    this.#timer = setTimeout(() => this.#keepWarm(), KEEP_WARM_FOR);
    this.#timer.unref();
  }

  /**
   * Runs `work` under a profile of its own. With `serialize`, after every earlier serialized
   * run has finished (a V8 profile covers the whole process: another request running at the
   * same time would show in it). Each run awaits the one before it and nothing else waits on
   * a run's promise but its caller: a chain of single awaits, which V8 walks for the async
   * stack of code that blocks (blockWatch() finds the request on it on Node 20 and 22).
   */
  async run<T>(
    work: () => Promise<T>,
    serialize: boolean,
  ): Promise<{ result: T; profile: CpuProfile }> {
    if (!serialize) return this.#profiled(work);
    const earlier = this.#queue;
    let finished = () => {};
    this.#queue = new Promise<void>((resolve) => {
      finished = resolve;
    });
    try {
      await earlier;
      return await this.#profiled(work);
    } finally {
      finished();
    }
  }

  async #profiled<T>(work: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
    const title = `mortar-profile-${++this.#count}`;
    inspector.console.profile(title);
    let result: T;
    try {
      result = await work();
    } finally {
      inspector.console.profileEnd(title);
    }
    const profile = this.#finished.get(title);
    this.#finished.delete(title);
    if (!profile) throw new Error(`profile(): the inspector gave no profile for ${title}`);
    return { result, profile };
  }

  /** Ends the background profile and the session. */
  close(): void {
    clearTimeout(this.#timer);
    if (this.#warm) inspector.console.profileEnd(this.#warm);
    this.#session.disconnect();
  }
}
