// The runtime's extras on Deno and Bun (run by test/e2e/runtimes): each runtime's own server
// (Deno.serve with toFetchHandler, Bun.serve with toBunServe) calls the application, which
// reads what the runtime passed (getDenoInfo, getBunServer) and gives waitUntil a task that
// finishes after the response and one that fails (logged as one line, the process unharmed).
import {
  type Application,
  FastResponse,
  fetchRuntime,
  getBunServer,
  getDenoInfo,
  toBunServe,
  toFetchHandler,
  waitUntil,
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

const lines: string[] = [];
console.error = (line: unknown) => void lines.push(String(line));
let finished = false;

const app: Application = (request, environ) => {
  waitUntil(
    environ,
    new Promise((resolve) => setTimeout(resolve, 10)).then(() => {
      finished = true;
    }),
  );
  waitUntil(environ, Promise.reject(new Error('a planned failure')));
  const runtime = fetchRuntime(environ)?.name;
  return FastResponse.json({
    runtime,
    deno: runtime === 'deno' ? getDenoInfo(environ).remoteAddr.transport : null,
    bun: runtime === 'bun' ? getBunServer(environ).requestIP(request)?.address : null,
    remoteAddress: environ.remoteAddress,
  });
};

let url: string;
let stop: () => Promise<void>;
if (runtimes.Deno) {
  const options = { hostname: '127.0.0.1', port: 0, onListen() {} };
  const server = runtimes.Deno.serve(options, toFetchHandler(app));
  url = `http://127.0.0.1:${server.addr.port}/`;
  stop = () => server.shutdown();
} else {
  const server = runtimes.Bun!.serve(toBunServe(app, { hostname: '127.0.0.1', port: 0 }));
  url = server.url.href;
  stop = () => server.stop();
}

const seen = (await (await fetch(url)).json()) as Record<string, unknown>;
const failed = () =>
  lines.some((line) => /waitUntil\(\) failed: Error: a planned failure/.test(line));
for (let i = 0; i < 500 && !(finished && failed()); i++) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const checks = runtimes.Deno
  ? { runtime: seen.runtime === 'deno', info: seen.deno === 'tcp' }
  : { runtime: seen.runtime === 'bun', server: seen.bun === '127.0.0.1' };
const all = {
  ...checks,
  remoteAddress: seen.remoteAddress === '127.0.0.1',
  finished,
  failureLogged: failed(),
};
await stop();
const ok = Object.values(all).every(Boolean);
console.log(ok ? 'ok: extras' : `not ok: extras ${JSON.stringify({ all, seen, lines })}`);
runtimes.process?.exit(ok ? 0 : 1);
