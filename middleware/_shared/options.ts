/**
 * What every middleware does with the options it is given: an option it does not know is a
 * mistake (a typo, a name from another library: express-session's `resave`, iron-session's
 * `cookieName`), refused at construction with the names it does know — never ignored.
 */

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
 * @throws TypeError naming `where`, the unknown option and the known ones, when `options`
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
      const near = names.find((name) => name.toLowerCase() === key.toLowerCase());
      throw new TypeError(
        `${where}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ''}; the options are ${names.join(', ')}`,
      );
    }
  }
}
