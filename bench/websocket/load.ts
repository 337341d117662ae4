/**
 * The load generator of `bench/websocket/index.ts`, a process of its own with `ws` clients:
 * `node load.mjs <mode> <base-url> <arg>`, printing one JSON line of results on stdout.
 * - `fanout <url> <seconds>`: 32 clients in `/room`, each sending 64-byte text messages with
 *   at most 8 of its own ahead of what it received (`received / 31`); messages received per
 *   second, all clients together.
 * - `handshake <url> <seconds>`: 50 loops of connect to `/echo`, send the handshake, wait for
 *   the 101, drop the connection (raw sockets, see {@link rawHandshake}); completed
 *   handshakes per second.
 * - `echo <url> <seconds>`: 8 clients on `/echo`, each sending 1 KiB text and waiting for it
 *   back; round-trip p50 and p99 in microseconds.
 * - `idle <url> <count>`: opens `count` sockets on `/echo` (100 handshakes at a time), prints
 *   `{"open":count}` and holds them until killed.
 */
import net from 'node:net';
import WebSocket from 'ws';

const [mode = '', base = '', arg = '5'] = process.argv.slice(2);
const FANOUT_CLIENTS = 32;
const FANOUT_WINDOW = 8;
const HANDSHAKE_LOOPS = 50;
const ECHO_CLIENTS = 8;

/** A client on `url`, once open; rejects on an error or a refused handshake. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function fanout(seconds: number): Promise<object> {
  const clients = await Promise.all(
    Array.from({ length: FANOUT_CLIENTS }, () => connect(`${base}/room`)),
  );
  const message = 'm'.repeat(64);
  const others = FANOUT_CLIENTS - 1;
  let counting = false;
  let received = 0;
  for (const ws of clients) {
    let sent = 0;
    let got = 0;
    const pump = () => {
      while (sent - Math.floor(got / others) < FANOUT_WINDOW) {
        sent++;
        ws.send(message);
      }
    };
    ws.on('message', () => {
      got++;
      if (counting) received++;
      pump();
    });
    pump();
  }
  await sleep(500);
  counting = true;
  const started = performance.now();
  await sleep(seconds * 1000);
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  for (const ws of clients) ws.terminate();
  return { perSecond: received / elapsed };
}

/**
 * One opening handshake on a raw socket (a `ws` client's own handshake — key, SHA-1, an
 * http.ClientRequest — costs more than the server's and made the load generator the
 * bottleneck): resolves when the 101 is read, rejects on any other answer.
 */
function rawHandshake(url: URL, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(request));
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      socket.destroy();
      if (head.startsWith('HTTP/1.1 101 ')) resolve();
      else reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
    });
    socket.on('error', reject);
  });
}

async function handshake(seconds: number): Promise<object> {
  const url = new URL(`${base}/echo`);
  const request = `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      await rawHandshake(url, request);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: HANDSHAKE_LOOPS }, loop));
  return { perSecond: done / ((performance.now() - started) / 1000) };
}

async function echo(seconds: number): Promise<object> {
  const clients = await Promise.all(
    Array.from({ length: ECHO_CLIENTS }, () => connect(`${base}/echo`)),
  );
  const message = 'e'.repeat(1024);
  const times: number[] = [];
  let counting = false;
  for (const ws of clients) {
    let sentAt = 0;
    const next = () => {
      sentAt = performance.now();
      ws.send(message);
    };
    ws.on('message', () => {
      if (counting) times.push((performance.now() - sentAt) * 1000);
      next();
    });
    next();
  }
  await sleep(500);
  counting = true;
  await sleep(seconds * 1000);
  counting = false;
  for (const ws of clients) ws.terminate();
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), perSecond: times.length / seconds };
}

async function idle(count: number): Promise<object> {
  const url = `${base}/echo`;
  const open: WebSocket[] = [];
  let next = 0;
  const loop = async () => {
    while (next < count) {
      next++;
      open.push(await connect(url));
    }
  };
  await Promise.all(Array.from({ length: 100 }, loop));
  process.once('SIGTERM', () => {
    for (const ws of open) ws.terminate();
    process.exit(0);
  });
  setInterval(() => {}, 1 << 30);
  return { open: open.length };
}

const modes: Record<string, (value: number) => Promise<object>> = {
  fanout,
  handshake,
  echo,
  idle,
};
const run = modes[mode];
if (!run || !base.startsWith('ws://')) {
  console.error(`usage: load.ts <${Object.keys(modes).join('|')}> <ws://base> <seconds|count>`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(await run(Number(arg)))}\n`);
if (mode !== 'idle') process.exit(0);
