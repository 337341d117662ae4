// serve().close() on a runtime that is not Node (run by test/e2e/runtimes under Deno and
// Bun): with a request in flight it waits for that request only (its response closes the
// connection), and an idle keep-alive connection ends by the keep-alive timeout the client was
// told (5 s; a request may be on its way until then) — never after the whole shutdown timeout.
import { serve } from '../../src/gateways/node/index.js';
import type { Application } from '../../src/index.js';

let release!: () => void;
const slow = new Promise<void>((resolve) => {
  release = resolve;
});
const app: Application = async (request) => {
  if (new URL(request.url).pathname === '/slow') await slow;
  return new Response('done');
};

async function timed(what: string, limitMs: number, run: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await run();
  const took = performance.now() - started;
  if (took > limitMs)
    throw new Error(`not ok: ${what} took ${Math.round(took)} ms (limit ${limitMs})`);
}

const idle = await serve(app, { port: 0, announce: false, shutdownTimeout: 30_000 });
await (await fetch(idle.url)).text(); // leaves a kept-alive connection behind
await timed('close() with an idle keep-alive connection', 8000, () => idle.close());

const busy = await serve(app, { port: 0, announce: false });
const inFlight = fetch(`${busy.url}slow`).then((res) => res.text());
await new Promise((resolve) => setTimeout(resolve, 100));
setTimeout(release, 300);
await timed('close() with a request in flight', 2000, async () => {
  await busy.close();
  if ((await inFlight) !== 'done') throw new Error('not ok: the in-flight request did not finish');
});
console.log('ok: close');
