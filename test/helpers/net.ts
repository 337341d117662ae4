/**
 * Small helpers for tests and benchmarks that start real servers.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The path of `command` on PATH, or `undefined`. */
export function which(command: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/**
 * A test's teardown of a gateway's server (`serve()`, `serveFastCGI()` …): its `close()`, with the idle keep-alive connections
 * ended at once. `close()` alone waits out the keep-alive timeout it told each idle client (a
 * deployment's drain must: see src/gateways/node/drain.ts); a finished test sends no more.
 */
export function closeNow(server: {
  close(): Promise<void>;
  node?: { closeIdleConnections?: () => void };
}): Promise<void> {
  const closed = server.close();
  server.node?.closeIdleConnections?.(); // an HTTP server's; other gateways have none to wait
  return closed;
}
