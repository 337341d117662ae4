/**
 * proxy() streaming and failing: 100 MB each way held back by back-pressure, an event stream
 * through compress() event by event, and the upstream down, silent, resetting, or its client
 * gone — each with one log line and the process alive.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compress } from '../../../middleware/compress/index.js';
import { proxy } from '../../../middleware/proxy/node.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { compose } from '../../../src/index.js';
import { freePort } from '../../helpers/net.js';
import { front, get, lines, rawUpstream, steady, until, upstream } from './fixture.js';

const MB = 1024 * 1024;
const TOTAL = 100 * MB;
/** What may sit in buffers between the two ends (socket buffers, stream high-water marks). */
const BOUND = 24 * MB;

describe('back-pressure', () => {
  it('holds a 100 MB download to the pace of a client that stops reading', async () => {
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 120);
    const { origin } = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL });
      const pump = () => {
        while (written < TOTAL) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    let received = 0;
    const done = new Promise<number>((resolve, reject) => {
      http
        .get(`${server.url}api/big`, { agent: false }, async (res) => {
          res.pause();
          const held = await steady(() => written);
          expect(held).toBeLessThan(BOUND);
          res.on('data', (c: Buffer) => {
            received += c.length;
          });
          res.on('end', () => resolve(received));
          res.resume();
        })
        .on('error', reject);
    });
    expect(await done).toBe(TOTAL);
  });

  it('holds a 100 MB upload to the pace of an upstream that stops reading', async () => {
    let upstreamReq: http.IncomingMessage | undefined;
    let got = 0;
    const { origin } = await upstream((req, res) => {
      upstreamReq = req;
      req.pause();
      req.on('data', (c: Buffer) => {
        got += c.length;
      });
      req.on('end', () => res.end(String(got)));
    });
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`) }));
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 121);
    const answer = new Promise<string>((resolve, reject) => {
      const req = http.request(`${server.url}api/up`, { method: 'POST', agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      const pump = () => {
        while (sent < TOTAL) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    await until(() => upstreamReq !== undefined, 'the upstream has the request');
    const held = await steady(() => sent);
    expect(held).toBeLessThan(BOUND);
    upstreamReq!.resume();
    expect(await answer).toBe(String(TOTAL));
  });
});

describe('event streams', () => {
  it('sends each event through compress() before the upstream writes the next', async () => {
    let step: (() => void) | undefined;
    const { origin } = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      step = () => {
        n += 1;
        if (n > 3) res.end();
        else res.write(`data: event ${n}\n\n`);
      };
      step();
    });
    const server = await front(compose(compress())(urlmap({ '/api': proxy(`${origin}/v1`) })));
    const events = await new Promise<string[]>((resolve, reject) => {
      http
        .get(
          `${server.url}api/events`,
          { agent: false, headers: { 'accept-encoding': 'gzip' } },
          (res) => {
            expect(res.headers['content-encoding']).toBe('gzip');
            const seen: string[] = [];
            let text = '';
            const gunzip = zlib.createGunzip();
            res.pipe(gunzip);
            gunzip.setEncoding('utf8');
            gunzip.on('data', (c: string) => {
              text += c;
              const parts = text.split('\n\n');
              text = parts.pop()!;
              seen.push(...parts);
              // The next event is written only once this one has arrived.
              if (parts.length > 0) step!();
            });
            gunzip.on('end', () => resolve(seen));
            gunzip.on('error', reject);
          },
        )
        .on('error', reject);
    });
    expect(events).toEqual(['data: event 1', 'data: event 2', 'data: event 3']);
  });
});

describe('failures', () => {
  it('answers 502 when the upstream refuses the connection, with one log line', async () => {
    const port = await freePort();
    const log = lines();
    const server = await front(
      urlmap({ '/api': proxy(`http://127.0.0.1:${port}/v1`, { log: log.log }) }),
    );
    const res = await get(`${server.url}api/x`);
    expect(res.status).toBe(502);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(
      /^mortar proxy: 502 for GET http:\/\/127\.0\.0\.1:\d+\/v1\/x: .*ECONNREFUSED/,
    );
  });

  it('answers 504 when no response head comes within timeout.headers', async () => {
    const origin = await rawUpstream(() => {}); // reads, never answers
    const log = lines();
    const server = await front(
      urlmap({ '/api': proxy(`${origin}/v1`, { timeout: { headers: 200 }, log: log.log }) }),
    );
    const res = await get(`${server.url}api/x`);
    expect(res.status).toBe(504);
    expect(log.lines).toEqual([
      `mortar proxy: 504 for GET ${origin}/v1/x: no response head within 200 ms`,
    ]);
  });

  it('breaks the client connection when the upstream resets mid-body', async () => {
    const origin = await rawUpstream((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
        socket.write('x'.repeat(1000), () => socket.resetAndDestroy());
      });
    });
    const log = lines();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`, { log: log.log }) }));
    const outcome = await new Promise<string>((resolve) => {
      http
        .get(`${server.url}api/x`, { agent: false }, (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve('complete'));
          res.on('error', () => resolve('broken'));
          res.on('close', () => resolve(res.complete ? 'complete' : 'broken'));
        })
        .on('error', () => resolve('broken'));
    });
    expect(outcome).toBe('broken');
    await until(() => log.lines.length > 0, 'the reset is logged');
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^mortar proxy: the upstream broke off its response body/);
  });

  it('answers 502 when a short body (read whole before the head is sent) is cut off', async () => {
    const origin = await rawUpstream((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
        socket.write('x'.repeat(10), () => socket.resetAndDestroy());
      });
    });
    const log = lines();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`, { log: log.log }) }));
    const res = await get(`${server.url}api/x`);
    expect(res.status).toBe(502);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^mortar proxy: 502 for GET /);
  });

  it('aborts the upstream request when the client goes away', async () => {
    let upstreamClosed = false;
    let started = false;
    const { origin } = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part');
      started = true;
      res.on('close', () => {
        upstreamClosed = true;
      });
    });
    const log = lines();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`, { log: log.log }) }));
    const req = http.get(`${server.url}api/x`, { agent: false }, (res) => {
      res.once('data', () => req.destroy());
    });
    req.on('error', () => {});
    await until(() => started && upstreamClosed, 'the upstream sees its request aborted');
    await until(() => log.lines.length > 0, 'the abort is logged');
    expect(log.lines).toEqual([
      `mortar proxy: the client went away; the upstream request was aborted: GET ${origin}/v1/x`,
    ]);
  });

  it('aborts the upstream request when the client goes away before the response head', async () => {
    let upstreamClosed = false;
    let arrived = false;
    const { origin } = await upstream((req) => {
      arrived = true; // and never answers
      req.socket.on('close', () => {
        upstreamClosed = true;
      });
    });
    const log = lines();
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`, { log: log.log }) }));
    const req = http.get(`${server.url}api/x`, { agent: false });
    req.on('error', () => {});
    await until(() => arrived, 'the upstream has the request');
    req.destroy();
    await until(() => upstreamClosed, 'the upstream sees its request aborted');
    await until(() => log.lines.length > 0, 'the abort is logged');
    expect(log.lines).toEqual([
      `mortar proxy: the client went away; the upstream request was aborted: GET ${origin}/v1/x`,
    ]);
  });

  it('stays up through 1,000 upstream resets, then answers', async () => {
    let n = 0;
    const origin = await rawUpstream((socket) => {
      socket.once('data', () => {
        n += 1;
        if (n % 2 === 0) socket.resetAndDestroy();
        else
          socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', () =>
            socket.resetAndDestroy(),
          );
      });
    });
    const server = await front(urlmap({ '/api': proxy(`${origin}/v1`, { log: () => {} }) }));
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 1000; i++) {
      statuses.push(
        await new Promise((resolve) => {
          http
            .get(`${server.url}api/x`, { agent: false }, (res) => {
              res.on('data', () => {});
              res.on('close', () => resolve(res.complete ? res.statusCode! : 'broken'));
            })
            .on('error', () => resolve('broken'));
        }),
      );
    }
    expect(new Set(statuses)).toEqual(new Set([502, 'broken']));
    const { origin: good } = await upstream((_req, res) => res.end('alive'));
    const again = await front(urlmap({ '/api': proxy(`${good}/v1`) }));
    expect((await get(`${again.url}api/x`)).body.toString()).toBe('alive');
  });
});
