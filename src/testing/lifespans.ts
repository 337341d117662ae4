/**
 * The lifespans of a {@link TestClient}'s application: started by `client.start()`, stopped
 * by `client.stop()` (or `await using`), as a server runs them around what it serves.
 */
import { type RunningLifespans, startLifespans } from '../lifespan-run.js';
import type { Application } from '../types.js';

export class ClientLifespans {
  readonly #app: Application;
  #running: RunningLifespans | undefined;
  /** What the client calls: the application, with the state once started. */
  app: Application;

  constructor(app: Application) {
    this.#app = app;
    this.app = app;
  }

  /** @throws Error when already started; LifespanError when a startup fails. */
  async start(): Promise<void> {
    if (this.#running) throw new Error('TestClient: start() was already called (stop() first)');
    this.#running = await startLifespans(this.#app);
    this.app = this.#running.app;
  }

  /** Stops them; nothing when not started. */
  async stop(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    this.app = this.#app;
    await running.stop();
  }
}
