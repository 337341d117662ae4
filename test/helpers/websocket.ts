/**
 * A raw WebSocket handshake over `node:net`, for tests that check the bytes of the 101 (or of
 * a refusal) a gateway writes, which a WebSocket client library does not show.
 */
import net from 'node:net';

/** What the server answered a handshake: the head as sent, and the body of a refusal. */
export interface RawHandshake {
  /** The status line and header lines, as received (without the blank line). */
  head: string;
  status: number;
  /** Header lines `name: value`, names lower-cased, in order. */
  headers: [string, string][];
  /** After a refusal: the body up to the close of the connection; after a 101, `''`. */
  body: string;
}

/**
 * Sends a WebSocket opening handshake for `path` to the server at `url` (`http://host:port/`)
 * with `headers` added, and reads the answer: the head of a 101 (then the connection is
 * ended), or a whole refusal up to the close of the connection.
 */
export async function rawHandshake(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawHandshake> {
  const { hostname, port, host } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const lines = [
    `GET ${path} HTTP/1.1`,
    `host: ${host}`,
    'upgrade: websocket',
    'connection: Upgrade',
    'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let received = Buffer.alloc(0);
  const answer = await new Promise<RawHandshake>((resolve, reject) => {
    const read = (final: boolean) => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) {
        if (final) reject(new Error(`the connection closed before a head: ${text}`));
        return;
      }
      const head = text.slice(0, end);
      const status = Number(head.slice(9, 12));
      if (status !== 101 && !final) return; // a refusal: read to the close
      const headers = head
        .split('\r\n')
        .slice(1)
        .map((line): [string, string] => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
        });
      const chunked = headers.some(
        ([name, value]) => name === 'transfer-encoding' && /chunked/i.test(value),
      );
      const raw = status === 101 ? '' : text.slice(end + 4);
      const body = Buffer.from(chunked ? dechunk(raw) : raw, 'latin1').toString('utf8');
      resolve({ head, status, headers, body });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      read(false);
    });
    socket.on('end', () => read(true));
    socket.on('close', () => read(true));
    socket.on('error', reject);
  });
  socket.destroy();
  return answer;
}

/** A chunked body (RFC 9112 §7.1) decoded, as latin1 text; no trailers expected. */
function dechunk(text: string): string {
  let body = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) return body;
    body += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** The values of header `name` in a {@link RawHandshake}. */
export function headerValues(answer: RawHandshake, name: string): string[] {
  return answer.headers.filter(([key]) => key === name).map(([, value]) => value);
}
