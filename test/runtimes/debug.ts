// debug() on a runtime that is not Node: run by test/e2e/runtimes with Deno and Bun. It must
// say at construction, in one line, that locals are not captured there; answer two errors in a
// row (Deno froze at the second one; Bun gave a bare 500); and, after the PIN, show the
// traceback with a line saying locals are not captured there — never offering them.
import { debug } from '../../middleware/debug/index.js';
import type { Application } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

const lines: string[] = [];
const failing: Application = () => {
  throw new RangeError('no such thing on the menu');
};
const client = new TestClient(
  debug({ log: (line) => lines.push(line), secretFile: false })(failing),
);
const runtime = (globalThis as { Deno?: unknown }).Deno ? 'Deno' : 'Bun';
const said = lines.some((line) => /local variables are not captured/.test(line));
const locked = (await client.get('/', { headers: { accept: 'text/plain' } })).text();
const pin = /the debugger PIN is (\S+)/.exec(lines.join('\n'))?.[1];
const unlock = await client.post('/__debug__/pin', {
  headers: { origin: 'http://localhost' },
  json: { pin },
});
const answers: string[] = [];
for (let i = 0; i < 2; i++) {
  const res = await client.get('/', { headers: { accept: 'text/plain' } });
  answers.push(`${res.status} ${res.text().split('\n')[0]}`);
}
const html = (await client.get('/', { headers: { accept: 'text/html' } })).text();
const checks = {
  said,
  locked: !locked.includes('no such thing') && locked.includes('PIN'),
  unlocked: unlock.status === 200,
  answers: answers.every((answer) => answer === '500 RangeError: no such thing on the menu'),
  page: html.includes('no such thing on the menu'),
  note: html.includes(`Local variables are not captured on ${runtime}`),
  noOffer: !/No local variables were captured for this frame|placeholder="[^"]*locals/.test(html),
};
const ok = Object.values(checks).every(Boolean);
console.log(ok ? 'ok: debug' : `not ok: debug ${JSON.stringify({ checks, answers, lines })}`);
(globalThis as { process?: { exit(code: number): never } }).process?.exit(ok ? 0 : 1);
