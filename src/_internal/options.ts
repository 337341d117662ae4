/**
 * How every factory takes its options — middleware, session stores, gateways, the test
 * client: one {@link optionChecker} per factory, built once from a table that names each
 * option's kind of value. An option it does not know is a mistake (a typo, a name from another
 * library: express-session's `resave`, iron-session's `cookieName`), refused at construction
 * with the known name it is likely a typo of — never ignored; a value of the wrong kind is
 * refused in the same words everywhere. Both are a {@link ConfigError} whose message starts
 * with the factory's name: `serveFastCGI: unknown option "annouce" — did you mean "announce"?`.
 */

import { ConfigError } from './config-error.js';

export { CONFIG_ERROR_CODE, ConfigError, isConfigError } from './config-error.js';

/** One kind of option value: the test, and what a right value is, in words. */
export interface ValueCheck {
  /** `a positive integer`, `milliseconds (an integer ≥ 0)`: ends the error's "must be …". */
  readonly expected: string;
  test(value: unknown): boolean;
  /** The option must be given (not `undefined`). */
  readonly required?: boolean;
}

/** A kind of value of a factory's own: `valueKind('a cookie name', (v) => …)`. */
export const valueKind = (expected: string, test: (value: unknown) => boolean): ValueCheck => ({
  expected,
  test,
});
const kind = valueKind;
const isInteger = (value: unknown, least: number): boolean =>
  Number.isInteger(value) && (value as number) >= least;

/**
 * The value vocabulary every factory's options use. Units are part of the kind: `seconds`
 * for lifetimes HTTP states in seconds, `milliseconds` for timeouts (as Node's timers).
 */
export const is = {
  boolean: kind('true or false', (v) => typeof v === 'boolean'),
  function: kind('a function', (v) => typeof v === 'function'),
  string: kind('a string', (v) => typeof v === 'string'),
  /** A non-null object (a store, a stream, a client, a record of options). */
  object: kind('an object', (v) => typeof v === 'object' && v !== null),
  /** A list of strings. */
  strings: kind(
    'a list of strings',
    (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  ),
  /** A list whose every item is of the kind `item`. */
  listOf: (item: ValueCheck) =>
    kind(`a list, each ${item.expected}`, (v) => Array.isArray(v) && v.every((x) => item.test(x))),
  /** An integer ≥ 1 (a count). */
  positiveInteger: kind('a positive integer', (v) => isInteger(v, 1)),
  /** An integer ≥ `least` (a count). */
  integer: (least: number) => kind(`an integer ≥ ${least}`, (v) => isInteger(v, least)),
  /** A size in bytes: an integer ≥ 0, or `Infinity` for no limit when `unlimited`. */
  bytes: (unlimited = false) =>
    kind(
      unlimited
        ? 'a number of bytes (an integer ≥ 0, or Infinity)'
        : 'a number of bytes (an integer ≥ 0)',
      (v) => isInteger(v, 0) || (unlimited && v === Number.POSITIVE_INFINITY),
    ),
  /** A duration in seconds: an integer ≥ `least`. */
  seconds: (least = 0) => kind(`seconds (an integer ≥ ${least})`, (v) => isInteger(v, least)),
  /** A duration in milliseconds: an integer ≥ `least`. */
  milliseconds: (least = 0) =>
    kind(`milliseconds (an integer ≥ ${least})`, (v) => isInteger(v, least)),
  /** A TCP port, 0 (any free one) to 65535. */
  port: kind(
    'a port (an integer from 0 to 65535)',
    (v) => isInteger(v, 0) && (v as number) <= 65535,
  ),
  /** One of the given values. */
  oneOf: (...values: readonly unknown[]) =>
    kind(
      values.length === 1
        ? JSON.stringify(values[0])
        : `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
      (v) => values.includes(v),
    ),
  /** Whichever of several kinds. */
  either: (...checks: readonly ValueCheck[]) =>
    kind(checks.map((c) => c.expected).join(' or '), (v) => checks.some((c) => c.test(v))),
  /** `check`, and the option must be given. */
  required: (check: ValueCheck): ValueCheck => ({ ...check, required: true }),
} as const;

/** A check for every option of `T`: the table cannot miss a name `T` has, nor add one. */
export type OptionChecks<T> = { readonly [K in keyof T]-?: ValueCheck };

/**
 * The check of one factory's options, built once: `optionChecker<SessionOptions>('session',
 * { secret: is.any, … })`. The returned function takes the options as given (`undefined`
 * means none) and returns them, checked; `prefix` names a nested record (`'cookie.'`).
 *
 * @throws ConfigError naming `where` — for options that are not an object (or missing when an
 *   option is required), an own property outside the table (with the known name it is likely
 *   a typo of: `did you mean "secret"?`, else every known name), a required option missing, or
 *   a value (other than `undefined`) of the wrong kind.
 */
export function optionChecker<T extends object>(
  where: string,
  checks: OptionChecks<T>,
  prefix = '',
): (options: T | undefined) => T {
  const table = checks as Readonly<Record<string, ValueCheck>>;
  const names = Object.keys(table);
  const required = names.filter((name) => table[name]!.required);
  return function checkOptions(options) {
    if (options === undefined && required.length === 0) return {} as T;
    if (options === undefined) {
      throw new ConfigError(`${where}: options are required ({ ${required.join(', ')} })`);
    }
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new ConfigError(
        `${where}: ${prefix ? `option "${prefix.slice(0, -1)}"` : 'the options'} must be an object, got ${shown(options)}`,
      );
    }
    for (const [name, value] of Object.entries(options)) {
      const check = table[name];
      if (!check) throw unknownOption(where, name, names, prefix);
      if (value !== undefined && !check.test(value)) {
        throw new ConfigError(
          `${where}: option "${prefix}${name}" must be ${check.expected}, got ${shown(value)}`,
        );
      }
    }
    for (const name of required) {
      if ((options as Record<string, unknown>)[name] === undefined) {
        throw new ConfigError(
          `${where}: option "${prefix}${name}" is required (${table[name]!.expected})`,
        );
      }
    }
    return options;
  };
}

/**
 * The value of an option that was renamed (`idleTimeout` → `idleTimeoutMs`): the new name's,
 * else the deprecated old name's, which keeps working.
 * @throws ConfigError naming `where` when both are given.
 */
export function renamedOption<T extends object, K extends keyof T & string>(
  options: T,
  name: K,
  old: keyof T & string,
  where: string,
): T[K] | undefined {
  const value = options[name];
  const previous = options[old] as T[K] | undefined;
  if (value !== undefined && previous !== undefined) {
    throw new ConfigError(
      `${where}: options "${name}" and "${old}" are one setting (${old} is its deprecated name); give ${name} only`,
    );
  }
  return value ?? previous;
}

function unknownOption(where: string, name: string, names: readonly string[], prefix: string) {
  const near = nearestName(name, names);
  return new ConfigError(
    `${where}: unknown option "${prefix}${name}" — ${near ? `did you mean "${prefix}${near}"?` : `the options are ${names.map((n) => prefix + n).join(', ')}`}`,
  );
}

/** A value as an error message shows it: strings quoted, objects by their kind. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * The name in `names` that `key` is a typo of: the same but for case, else one at the
 * smallest edit distance (a letter added, dropped, changed, or two swapped — optimal string
 * alignment), when that distance is at most a third of the name (so `secert` → `secret`,
 * but `resave` is nobody's typo).
 */
function nearestName(key: string, names: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameButCase = names.find((name) => name.toLowerCase() === lower);
  if (sameButCase) return sameButCase;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const name of names) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions, swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
