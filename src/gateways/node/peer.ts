/**
 * How a node:http request arrived, for the environ: over a Unix-domain socket or not — from
 * the listener that accepted the connection, never from a missing peer address.
 */
import type net from 'node:net';

/** Each listening server: whether it listens on a Unix socket path (asked once per server). */
const unixListeners = new WeakMap<object, boolean>();

/**
 * Whether `socket` was accepted by a server listening on a Unix socket path — read from the
 * listener (net sets `socket.server`; its `address()` is a string for a path), never from the
 * socket's missing address: a TCP client that resets its connection right after its request
 * has none either. `false` for a socket no server accepted (a test's duplex).
 */
export function onUnixListener(socket: net.Socket): boolean {
  const server = (socket as { server?: net.Server | null }).server;
  if (!server || typeof server.address !== 'function') return false;
  let unix = unixListeners.get(server);
  if (unix === undefined) {
    const address = server.address();
    if (address === null) return false; // not listening (any more): do not remember
    unix = typeof address === 'string';
    unixListeners.set(server, unix);
  }
  return unix;
}
