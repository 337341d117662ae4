/**
 * Graceful shutdown, shared by every gateway: SIGINT/SIGTERM and an `AbortSignal` start it;
 * a second signal exits at once. It ends once the gateway has drained and the tasks given to
 * `waitUntil()` have settled, both within the shutdown timeout.
 */
import { settle } from '../../_internal/log.js';
import { is, type OptionChecks, valueKind } from '../../_internal/options.js';
import { settlePending } from '../../_internal/pending.js';
import { LIFESPAN_CHECKS, type LifespanOptions } from './lifespan.js';

/** {@link ShutdownOptions.shutdownTimeout}'s default, in milliseconds. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 10_000;

/** Options every gateway takes for its start and shutdown. */
export interface ShutdownOptions extends LifespanOptions {
  /** Aborting it shuts the server down gracefully, as `server.close()` does. */
  signal?: AbortSignal;
  /**
   * Milliseconds a graceful shutdown waits for in-flight requests before it closes their
   * connections, and for the tasks given to `waitUntil()` before it gives up on them.
   * @default 10_000
   */
  shutdownTimeout?: number;
  /**
   * Install SIGINT/SIGTERM handlers that shut down gracefully and then exit the process with
   * code 0; a second signal exits at once with code 1.
   * @default true
   */
  handleSignals?: boolean;
  /** Where log lines go. @default console.error */
  log?: (line: string) => void;
}

/** The value checks of {@link ShutdownOptions}, which every gateway's table spreads. */
export const SHUTDOWN_CHECKS: OptionChecks<ShutdownOptions> = {
  ...LIFESPAN_CHECKS,
  signal: valueKind('an AbortSignal', (v) => v instanceof AbortSignal),
  shutdownTimeout: is.milliseconds(0),
  handleSignals: is.boolean,
  log: is.function,
};

/**
 * Returns the gateway's `close()`: it runs `drain(shutdownTimeout)` once (later calls get the
 * same promise), then awaits the tasks given to `waitUntil()` (those the drained requests
 * started included) until `shutdownTimeout` after the start, then runs `stopLifespans` (the
 * application's lifespans: after the last request); it is wired to the signals the options
 * ask for.
 *
 * @param drain - Stops accepting, lets in-flight requests finish, and after the timeout (in
 *   milliseconds) closes what is left; resolves when everything is closed.
 */
export function shutdownControl(
  drain: (shutdownTimeout: number) => Promise<void>,
  options: ShutdownOptions,
  stopLifespans: () => Promise<void> = async () => {},
): () => Promise<void> {
  const log = options.log ?? ((line: string) => console.error(line));
  const timeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (!closing) {
      const deadline = performance.now() + timeout;
      closing = drain(timeout)
        .then(() => settlePending(deadline, timeout, log))
        .then(stopLifespans)
        .finally(removeSignalHandlers);
    }
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      log(`mortar: ${signal} again; exiting now`);
      process.exit(1);
    }
    log(`mortar: ${signal}: finishing in-flight requests, then exiting`);
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  const removeSignalHandlers = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  if (options.handleSignals ?? true) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  if (options.signal) {
    if (options.signal.aborted) settle(close(), log, 'the shutdown');
    else
      options.signal.addEventListener('abort', () => settle(close(), log, 'the shutdown'), {
        once: true,
      });
  }
  return close;
}
