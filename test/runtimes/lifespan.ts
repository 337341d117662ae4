// Lifespans on Deno and Bun (run by test/e2e/runtimes): under the runtime's own server,
// toFetchHandler starts them on the first request — once, however many first requests arrive
// together — and the state reaches every request; startLifespans() starts them eagerly and
// its stop() runs the shutdown.
import {
  type Application,
  getState,
  startLifespans,
  toBunServe,
  toFetchHandler,
  withLifespan,
} from '../../src/index.js';

interface Runtimes {
  Deno?: {
    serve(
      options: { hostname: string; port: number; onListen(): void },
      handler: (request: Request, info: unknown) => Promise<Response>,
    ): { addr: { port: number }; shutdown(): Promise<void> };
  };
  Bun?: { serve(options: object): { url: URL; stop(): Promise<void> } };
  process?: { exit(code: number): never };
}
const runtimes = globalThis as unknown as Runtimes;

let startups = 0;
let shutdowns = 0;
const app: Application = withLifespan(
  (_request, environ) => Response.json(getState(environ)),
  async function* counter() {
    startups++;
    await new Promise((resolve) => setTimeout(resolve, 50)); // first requests pile up here
    try {
      yield { startup: startups };
    } finally {
      shutdowns++;
    }
  },
);

function listen(handler: Application | ((request: Request) => Promise<Response>)) {
  if (runtimes.Deno) {
    const options = { hostname: '127.0.0.1', port: 0, onListen() {} };
    const server = runtimes.Deno.serve(options, toFetchHandler(handler as Application));
    return { url: `http://127.0.0.1:${server.addr.port}/`, stop: () => server.shutdown() };
  }
  const server = runtimes.Bun!.serve(
    toBunServe(handler as Application, { hostname: '127.0.0.1', port: 0 }),
  );
  return { url: server.url.href, stop: () => server.stop() };
}

const lazy = listen(app);
const before = startups;
const bodies = await Promise.all(
  Array.from({ length: 5 }, async () => (await fetch(lazy.url)).json()),
);
await lazy.stop();

const running = await startLifespans(app);
const eager = listen(running.app);
const eagerBody = await (await fetch(eager.url)).json();
await eager.stop();
await running.stop();

const all = {
  notBeforeTheFirstRequest: before === 0,
  startedOnceForFive: bodies.every((body) => JSON.stringify(body) === '{"startup":1}'),
  eager: JSON.stringify(eagerBody) === '{"startup":2}',
  stopped: shutdowns === 1,
};
const ok = Object.values(all).every(Boolean);
console.log(ok ? 'ok: lifespan' : `not ok: lifespan ${JSON.stringify({ all, bodies, eagerBody })}`);
runtimes.process?.exit(ok ? 0 : 1);
