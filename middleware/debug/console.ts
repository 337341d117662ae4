/**
 * The evaluate console: an expression run against one frame's captured locals plus `$err`,
 * `$request` and `$environ`. `await` works; assignments persist for that frame; the result is
 * formatted with `util.inspect`. There is no isolation here (`node:vm` gives none and breaks
 * `instanceof`): the security of the console is its access control (see index.ts).
 */
import { inspect } from 'node:util';

/** The variables a frame's console sees; assignments land here and persist. */
export type ConsoleScope = Record<string, unknown>;

// Sloppy-mode functions (made with the Function constructor) may use `with`: the scope object
// (a Proxy that claims every name) catches identifier reads and assignments.
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<unknown>;
const run = new AsyncFunction('scope', 'source', 'with (scope) { return await eval(source); }');

/**
 * A Proxy over `scope` that claims every name, so an assignment to a new name lands in the
 * scope (and persists) instead of creating a global. Reading resolves the scope first, then
 * globals; a name that is neither throws the ReferenceError a REPL gives (a typo must not read
 * as `undefined`).
 */
function scopeProxy(scope: ConsoleScope): object {
  return new Proxy(scope, {
    has: (_target, key) =>
      key !== Symbol.unscopables && (typeof key !== 'string' || key !== 'source'),
    get: (target, key) => {
      if (key === Symbol.unscopables) return undefined;
      if (key in target) return target[key as string];
      if (key in globalThis) return (globalThis as Record<PropertyKey, unknown>)[key];
      throw new ReferenceError(`${String(key)} is not defined`);
    },
    set: (target, key, value) => {
      target[key as string] = value;
      return true;
    },
  });
}

/** The outcome of one evaluation, ready to show (already formatted as text). */
export interface Evaluation {
  ok: boolean;
  /** `util.inspect` of the value, or the error's stack/message. */
  text: string;
}

/**
 * Evaluates `expression` in `scope`, waiting at most `timeout` milliseconds for a promise.
 * An expression with `await` runs inside an async arrow; statements are tried when it is not
 * an expression. A synchronous endless loop cannot be interrupted (there is no isolation).
 */
export async function evaluate(
  scope: ConsoleScope,
  expression: string,
  timeout: number,
): Promise<Evaluation> {
  const source = /\bawait\b/.test(expression) ? asyncSource(expression) : expression;
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      run(scopeProxy(scope), source),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms`)), timeout);
      }),
    ]);
    return {
      ok: true,
      text: inspect(value, {
        depth: 3,
        maxArrayLength: 50,
        maxStringLength: 2000,
        breakLength: 100,
      }),
    };
  } catch (error) {
    return {
      ok: false,
      text:
        error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${inspect(error)}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** `await` needs an async function: an expression, else a block of statements. */
function asyncSource(expression: string): string {
  try {
    new AsyncFunction(`return (${expression});`);
    return `(async () => (${expression}))()`;
  } catch {
    return `(async () => { ${expression} })()`;
  }
}
