/**
 * serve()'s WebSocket pub/sub backplane failing: local delivery goes on, and its failures
 * make one log line (then at most one a minute), not one per publish.
 */
import type { SyncAdapter } from 'crossws';
import { afterEach, expect, it } from 'vitest';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { application } from '../../fixtures/websocket-app.js';
import { closeNow } from '../../helpers/net.js';
import { connect } from '../../helpers/ws-client.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
});

it('a backplane whose every publish fails: local subscribers still get each message, one log line', async () => {
  let attempts = 0;
  const broken: SyncAdapter = () => ({
    subscribe() {},
    publish() {
      attempts++;
      throw new Error('backplane down');
    },
  });
  const logs: string[] = [];
  const server = await serve(application, {
    port: 0,
    handleSignals: false,
    announce: false,
    log: (line) => logs.push(line),
    websocket: { sync: broken },
  });
  servers.push(server);
  const url = server.url.replace('http', 'ws');
  const [sender, receiver] = await Promise.all([connect(url), connect(url)]);
  expect(await receiver.ask('sub room')).toBe('subscribed room');
  for (let i = 0; i < 5; i++) {
    expect(await sender.ask(`pub room ${i}`)).toBe('published');
    expect(await receiver.next()).toBe(String(i));
  }
  expect(attempts).toBe(5);
  expect(logs).toEqual([
    expect.stringMatching(
      /^mortar: the WebSocket pub\/sub backplane failed \(publish: backplane down\); publishes reach this process's sockets only/,
    ),
  ]);
  sender.socket.close();
  receiver.socket.close();
});
