/**
 * A third-party client against serve(): Python's `websockets` (Debian's python3-websockets)
 * for the handshake with a subprotocol, fragmented text and binary messages, a ping, and
 * close codes both ways (1009 over the size limit). It runs as /usr/bin/python3: the
 * `python3` first on PATH may be a pyenv shim that does not see Debian's packages.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webSocket } from '../../middleware/websocket/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import { closeNow } from '../helpers/net.js';

const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../fixtures/websocket-client.py', import.meta.url));
const installed = spawnSync(PYTHON, ['-c', 'import websockets']).status === 0;
const available = installed || process.env.CI === 'true';
const skipReason =
  "Python's websockets is not installed for /usr/bin/python3: `apt-get install -y python3-websockets` (or run with CI=true to make this a failure)";

const title = "Python's websockets client against serve()";
describe.skipIf(!available)(available ? title : `${title} — skipped: ${skipReason}`, () => {
  let server: Server;
  const closes: { code?: number; reason?: string }[] = [];
  beforeAll(async () => {
    if (!installed) throw new Error(`CI=true but ${skipReason}`);
    const app = webSocket(
      {
        message(peer, message) {
          const close = /^close (\d+) (.*)$/.exec(
            typeof message.rawData === 'string' ? message.text() : '',
          );
          if (close) peer.close(Number(close[1]), close[2]);
          else peer.send(message.rawData as string | Uint8Array);
        },
        close(_peer, details) {
          closes.push(details);
        },
      },
      { protocols: ['chat.v2', 'chat.v1'], maxPayload: 1024 },
    );
    server = await serve(app, { port: 0, handleSignals: false, announce: false, log: () => {} });
  });
  afterAll(async () => {
    await closeNow(server);
  });

  it('handshake, fragmented messages, ping and close codes', async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [
      script,
      server.url.replace('http', 'ws'),
    ]);
    expect(JSON.parse(stdout)).toEqual({
      subprotocol: 'chat.v2', // the server's preference among those offered
      text: 'hello',
      fragmented: 'fragmented text',
      fragmentedBinary: [0, 1, 2, 255],
      pong: true,
      serverClose: [4001, 'server bye'],
      clientClose: [4002, 'client bye'],
      tooBig: [1009, expect.any(String)],
    });
    expect(closes).toContainEqual({ code: 4002, reason: 'client bye' });
  });
});
