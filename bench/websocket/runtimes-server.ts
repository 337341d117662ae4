/**
 * An echo WebSocket server on Deno or Bun, for `bench/websocket/runtimes-echo.ts`: `mortar`
 * serves `webSocket(hooks)` through `toFetchHandler` (Deno) or `toBunServe` (Bun); `crossws`
 * serves the same hooks through crossws's own adapter for the runtime, as its docs show. It
 * prints its URL on the first line of stdout and runs until killed.
 *
 *   deno run -A --sloppy-imports bench/websocket/runtimes-server.ts mortar|crossws
 *   bun bench/websocket/runtimes-server.ts mortar|crossws
 */
import type { Hooks } from 'crossws';
import { webSocket } from '../../middleware/websocket/index.js';
import { toBunServe, toFetchHandler } from '../../src/index.js';

interface Runtimes {
  Deno?: {
    args: string[];
    serve(
      options: { hostname: string; port: number; onListen(): void },
      handler: (request: Request, info: unknown) => Response | Promise<Response>,
    ): { addr: { port: number } };
  };
  Bun?: { argv: string[]; serve(options: object): { port: number } };
}
const runtimes = globalThis as unknown as Runtimes;
const mode = runtimes.Deno ? runtimes.Deno.args[0] : runtimes.Bun!.argv[2];
if (mode !== 'mortar' && mode !== 'crossws')
  throw new Error(`mode: mortar or crossws, got ${mode}`);

const hooks: Partial<Hooks> = {
  message: (peer, message) => {
    peer.send(message.text());
  },
};
const listen = { hostname: '127.0.0.1', port: 0 };
let port: number;
if (runtimes.Deno) {
  let handler: (request: Request, info: unknown) => Response | Promise<Response>;
  if (mode === 'mortar') handler = toFetchHandler(webSocket(hooks));
  else {
    const adapter = (await import('crossws/adapters/deno')).default({ hooks });
    handler = (request, info) => adapter.handleUpgrade(request, info as never);
  }
  port = runtimes.Deno.serve({ ...listen, onListen() {} }, handler).addr.port;
} else if (mode === 'mortar') {
  port = runtimes.Bun!.serve(toBunServe(webSocket(hooks), listen)).port;
} else {
  const adapter = (await import('crossws/adapters/bun')).default({ hooks });
  port = runtimes.Bun!.serve({
    ...listen,
    fetch: (request: Request, server: never) => adapter.handleUpgrade(request, server),
    websocket: adapter.websocket,
  }).port;
}
console.log(`ws://127.0.0.1:${port}/`);
