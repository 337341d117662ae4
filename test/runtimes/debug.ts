// debug() on a runtime that is not Node: run by test/e2e/runtimes with Deno and Bun. It must
// say at construction, in one line, that locals are not captured there, and then answer two
// errors in a row with the traceback (Deno froze at the second one; Bun gave a bare 500).
import { debug } from '../../middleware/debug/index.js';
import type { Application } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

const lines: string[] = [];
const failing: Application = () => {
  throw new RangeError('no such thing on the menu');
};
const client = new TestClient(debug({ log: (line) => lines.push(line) })(failing));
const said = lines.some((line) => /local variables are not captured/.test(line));
const answers: string[] = [];
for (let i = 0; i < 2; i++) {
  const res = await client.get('/', { headers: { accept: 'text/plain' } });
  answers.push(`${res.status} ${res.text().split('\n')[0]}`);
}
const html = await client.get('/', { headers: { accept: 'text/html' } });
const ok =
  said &&
  answers.every((answer) => answer === '500 RangeError: no such thing on the menu') &&
  html.text().includes('no such thing on the menu');
console.log(ok ? 'ok: debug' : `not ok: debug ${JSON.stringify({ said, answers, lines })}`);
(globalThis as { process?: { exit(code: number): never } }).process?.exit(ok ? 0 : 1);
