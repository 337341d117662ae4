/**
 * Lifespans at a gateway, the one way every Node gateway runs them (ASGI's rule: the server
 * runs the lifespans of the application it serves, once per process): startup before the
 * gateway listens — a failure rejects its `serve…()` and nothing is bound — and shutdown
 * after the drain, as the last step of {@link shutdownControl}'s close.
 */
import { is, type OptionChecks } from '../../_internal/options.js';
import { startLifespans } from '../../lifespan-run.js';
import type { Application } from '../../types.js';

/** The lifespan option every gateway takes. */
export interface LifespanOptions {
  /**
   * Milliseconds each lifespan's startup may take (see `withLifespan` in `mortar`); past it
   * the gateway does not start, with a `LifespanError` naming the lifespan.
   * @default 30_000
   */
  startupTimeout?: number;
}

/** The value checks of {@link LifespanOptions}. */
export const LIFESPAN_CHECKS: OptionChecks<LifespanOptions> = {
  startupTimeout: is.milliseconds(1),
};

/** An application whose lifespans run, and their shutdown (it never rejects: it logs). */
export interface GatewayLifespans {
  /** The application to serve: `getState(environ)` works in it. */
  readonly app: Application;
  /** Runs every shutdown in reverse; a failure is one log line each. */
  stop(): Promise<void>;
}

/**
 * Starts the lifespans `app` carries (none: `app` as it is, and a `stop` that does nothing).
 *
 * @param shutdownTimeout - Milliseconds each shutdown may take.
 * @throws LifespanError (a rejection) naming the lifespan whose startup failed; the ones
 *   started before it are stopped.
 */
export async function startGatewayLifespans(
  app: Application,
  options: LifespanOptions & { shutdownTimeout: number; log: (line: string) => void },
): Promise<GatewayLifespans> {
  const running = await startLifespans(app, {
    ...(options.startupTimeout === undefined ? {} : { startupTimeout: options.startupTimeout }),
    shutdownTimeout: options.shutdownTimeout,
  });
  return {
    app: running.app,
    stop: () => running.stop().catch((error: Error) => options.log(`mortar: ${error.message}`)),
  };
}

/**
 * What a gateway's listen that failed (the port in use) does with the lifespans it started
 * first: `listening.catch(stopThenThrow(lifespans))` stops them, then rethrows the error.
 */
export function stopThenThrow(lifespans: GatewayLifespans): (error: unknown) => Promise<never> {
  return async (error) => {
    await lifespans.stop();
    throw error;
  };
}

/**
 * The lifespans of a CGI request's process (one request: startup before it, shutdown after
 * it). A startup that fails is not thrown: the application served is one that throws that
 * error, so the request is answered 500 and the error logged as any application's.
 *
 * @param shutdownTimeout - Milliseconds each shutdown may take.
 */
export async function startCGILifespans(
  app: Application,
  shutdownTimeout: number,
  log: (line: string) => void,
): Promise<GatewayLifespans> {
  try {
    return await startGatewayLifespans(app, { shutdownTimeout, log });
  } catch (error) {
    return {
      app: () => {
        throw error;
      },
      stop: async () => {},
    };
  }
}
