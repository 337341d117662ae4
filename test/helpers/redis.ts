/**
 * A real redis-server for the tests, on a free loopback port, in a temporary folder.
 *
 * Without redis-server installed, `redisAvailable` is false: the Redis tests skip with a
 * message saying how to run them — except under CI=true, where they must run and fail.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, which } from './net.js';

const binary = which('redis-server');
/** Whether the Redis tests run here. */
export const redisAvailable = binary !== undefined || process.env.CI === 'true';
/** Why they do not, for the skip message. */
export const redisSkipReason =
  'redis-server is not installed: `apt-get install -y redis-server` (or run with CI=true to make this a failure)';

/** A running redis-server that can be stopped and started again on the same port. */
export class RedisServer {
  readonly port: number;
  readonly url: string;
  readonly #dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = mkdtempSync(path.join(tmpdir(), 'mortar-redis-'));
  }

  static async start(): Promise<RedisServer> {
    if (!binary) throw new Error(`CI=true but ${redisSkipReason}`);
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    this.#child = spawn(
      binary!,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.#dir,
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 200; i++) {
      if (await this.#answers()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.write('PING\r\n');
      });
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
  }
}
