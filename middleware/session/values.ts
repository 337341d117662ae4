/**
 * Checking what users hand the session: values are JSON (said at `set` time, naming what would
 * not survive).
 */

/**
 * Checks that `value` survives `JSON.stringify` → `JSON.parse` unchanged: null, booleans,
 * finite numbers, strings, arrays, and plain objects of those, without cycles.
 *
 * @param where - How to name the value in the message (`session.set("user")`).
 * @throws TypeError naming the path of the first value that would not survive, and why.
 */
export function assertJSONValue(value: unknown, where: string): void {
  const problem = findProblem(value, '', new Set());
  if (problem) throw new TypeError(`${where}: ${problem}; session values must be JSON`);
}

function findProblem(value: unknown, path: string, seen: Set<object>): string | undefined {
  const at = path ? `the value at ${path}` : 'the value';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${at} is ${value}, which JSON turns into null`;
    case 'bigint':
      return `${at} is a BigInt, which JSON cannot hold (store it as a string)`;
    case 'undefined':
      return `${at} is undefined, which JSON drops (use delete() or null)`;
    case 'function':
    case 'symbol':
      return `${at} is a ${typeof value}, which JSON drops`;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen.has(object)) return `${at} refers back to itself (a cycle)`;
  if (Array.isArray(object)) {
    seen.add(object);
    for (let i = 0; i < object.length; i++) {
      const problem = findProblem(object[i], `${path}[${i}]`, seen);
      if (problem) return problem;
    }
    seen.delete(object);
    return undefined;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto?.constructor as { name?: string } | undefined)?.name ?? 'an object';
    const hint = object instanceof Date ? ' (store date.toISOString() or a number)' : '';
    return `${at} is a ${name}, which JSON does not keep${hint}`;
  }
  seen.add(object);
  for (const [key, item] of Object.entries(object)) {
    const problem = findProblem(item, path ? `${path}.${key}` : key, seen);
    if (problem) return problem;
  }
  seen.delete(object);
  return undefined;
}
