/**
 * The load for `bench/websocket/runtimes-echo.ts`, run by Bun (its WebSocket client is the
 * fastest here, so the client is not what is measured): `connections` sockets to `url`, each
 * sending a `bytes`-long text message and the next one when its echo comes back, for
 * `seconds`. Prints `{ echoes, perSecond }` as JSON.
 *
 *   bun bench/websocket/runtimes-client.ts URL CONNECTIONS SECONDS BYTES
 */
interface BunGlobal {
  argv: string[];
}
const [url, connections, seconds, bytes] = (globalThis as unknown as { Bun: BunGlobal }).Bun.argv
  .slice(2)
  .map((value, i) => (i === 0 ? value : Number(value))) as [string, number, number, number];
const payload = 'x'.repeat(bytes);

const sockets = await Promise.all(
  Array.from(
    { length: connections },
    () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
      }),
  ),
);
let echoes = 0;
let running = true;
const started = performance.now();
for (const ws of sockets) {
  ws.onmessage = () => {
    echoes++;
    if (running) ws.send(payload);
  };
  ws.send(payload);
}
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
running = false;
const elapsed = (performance.now() - started) / 1000;
for (const ws of sockets) ws.close();
console.log(JSON.stringify({ echoes, perSecond: echoes / elapsed }));
process.exit(0);
