/**
 * A promise that is not a native `Promise`: what a library's own promise type, or a promise
 * from another realm, looks like to `instanceof Promise` (false), while `await` takes it.
 * Typed as a `Promise` so it can stand where an application's result goes.
 */
export function thenable<T>(settle: () => T | PromiseLike<T>): Promise<T> {
  const like: PromiseLike<T> = {
    // biome-ignore lint/suspicious/noThenProperty: the point of the helper is a `then`.
    then(onFulfilled, onRejected) {
      return Promise.resolve().then(settle).then(onFulfilled, onRejected);
    },
  };
  return like as Promise<T>;
}
