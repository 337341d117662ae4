/**
 * What every middleware does with the options it is given: an option it does not know is a
 * mistake (a typo, a name from another library: express-session's `resave`, iron-session's
 * `cookieName`), refused at construction with the names it does know — never ignored. A
 * refused option, like any option a factory finds wrong, is a {@link ConfigError}.
 */

import { ConfigError } from './config-error.js';

export { CONFIG_ERROR_CODE, ConfigError, isConfigError } from './config-error.js';

/**
 * The option names of `T`, listed once: `optionNames<SessionOptions>()(['secret', …])` does
 * not compile when the list misses a name `T` has (so the list cannot fall behind).
 */
export function optionNames<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    names: K &
      ([Exclude<keyof T & string, K[number]>] extends [never]
        ? unknown
        : { missing: Exclude<keyof T & string, K[number]> }),
  ): readonly string[] => names;
}

/**
 * @throws ConfigError naming `where` and the unknown option, with the known name it is
 *   likely a typo of (`did you mean "secret"?`), else every known name, when `options`
 *   has an own property outside `names`.
 */
export function refuseUnknownOptions(
  options: object | undefined | null,
  names: readonly string[],
  where: string,
): void {
  if (options === undefined || options === null || typeof options !== 'object') return;
  for (const key of Object.keys(options)) {
    if (!names.includes(key)) {
      const near = nearestName(key, names);
      throw new ConfigError(
        `${where}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : `; the options are ${names.join(', ')}`}`,
      );
    }
  }
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
