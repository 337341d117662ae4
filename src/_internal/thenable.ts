/**
 * The one test of "did the application answer later": a promise of any kind — a native
 * `Promise`, another realm's, a library's thenable — is what `await` would wait for, so
 * every caller that branches on it (the gateways, session, debug, access-log) asks the same
 * question the same way. Imports nothing.
 */

/**
 * Whether `value` is a thenable (an object or function with a callable `then`, Promises/A+
 * §1.2), read without throwing: a value whose `then` getter throws is not one.
 */
export function isThenable<T = unknown>(value: unknown): value is PromiseLike<T> {
  try {
    return typeof (value as Partial<PromiseLike<unknown>> | null)?.then === 'function';
  } catch {
    return false;
  }
}
