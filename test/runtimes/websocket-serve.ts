// Serves test/runtimes/websocket-app.ts on Deno (Deno.serve + toFetchHandler) or Bun
// (Bun.serve + toBunServe) on a free loopback port, prints `listening on PORT`, and runs
// until killed. Run by test/e2e/runtimes-websocket.
import { toBunServe, toFetchHandler } from '../../src/index.js';
import { app } from './websocket-app.js';

interface Runtimes {
  Deno?: {
    serve(
      options: { hostname: string; port: number; onListen(): void },
      handler: (request: Request, info: unknown) => Promise<Response>,
    ): { addr: { port: number } };
  };
  Bun?: { serve(options: object): { port: number } };
}
const runtimes = globalThis as unknown as Runtimes;

const port = runtimes.Deno
  ? runtimes.Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, toFetchHandler(app)).addr
      .port
  : runtimes.Bun!.serve(toBunServe(app, { hostname: '127.0.0.1', port: 0 })).port;
console.log(`listening on ${port}`);
