import { carryLifespans } from './lifespan.js';
import type { Application, Middleware } from './types.js';

/**
 * Chains middlewares: `compose(a, b, c)(app)` is `a(b(c(app)))` — the first listed is the
 * outermost, as in PasteDeploy's `pipeline = a b c app`.
 *
 * The chain is built once, when the returned function is called with the application; a
 * request then costs one call per layer and nothing else (unlike koa-compose, which walks an
 * array on every request).
 *
 * The result carries the lifespans of `app` (and of any layer that carries its own: see
 * `withLifespan`), so the gateway serving it runs them.
 *
 * @param middlewares - Outermost first. None gives the identity.
 * @returns A middleware that wraps an application in all of them.
 * @throws TypeError when an argument is not a function, or a middleware returns something
 *   other than a function (naming its position).
 */
export function compose(...middlewares: Middleware[]): Middleware {
  middlewares.forEach((middleware, index) => {
    if (typeof middleware !== 'function') {
      throw new TypeError(
        `compose(): argument ${index + 1} is ${describe(middleware)}, not a middleware function`,
      );
    }
  });
  return (app: Application) =>
    middlewares.reduceRight<Application>((inner, middleware, index) => {
      const outer = middleware(inner);
      if (typeof outer !== 'function') {
        throw new TypeError(
          `compose(): middleware ${index + 1} (${middleware.name || 'anonymous'}) returned ${describe(outer)}, not an application`,
        );
      }
      return carryLifespans(outer, inner);
    }, app);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
