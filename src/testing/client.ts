/**
 * `TestClient` — paste.fixture's `TestApp` / WebTest for mortar: drives an application
 * in-process, with no socket, keeping cookies between requests like a browser.
 *
 * ```ts
 * import { expect } from 'vitest';
 *
 * const client = new TestClient(app);
 * const res = await client.post('/login', { form: { user: 'ann' }, followRedirects: true });
 * expect(res.status).toBe(200);
 * expect(client.cookies.get('sid')).toBeDefined();
 * ```
 */
import { ConfigError, is, optionChecker, shown } from '../_internal/options.js';
import { runApplication } from '../_internal/outcome.js';
import { requestTargetPath } from '../_internal/request-target.js';
import type { UpgradeSlot } from '../_internal/upgrade.js';
import type { Application, BodyInit, Environ, HeadersInit } from '../types.js';
import { CookieJar } from './cookie-jar.js';
import { ClientLifespans } from './lifespans.js';
import type { PeerHub } from './peer.js';
import { TestResponse } from './response.js';
import { openWebSocket, type TestWebSocket, type TestWebSocketOptions } from './websocket.js';

export { TestResponse };

/** With `throwErrors: false`, the 500's line goes where a gateway's would: the console. */
const log = (line: string): void => console.error(line);

/** Options of {@link TestClient}. */
export interface TestClientOptions {
  /** Scheme and host the requests claim to come to. @default 'http://localhost' */
  baseURL?: string;
  /** Follow 301/302/303/307/308 responses (up to 10). @default false */
  followRedirects?: boolean;
  /**
   * Rethrow what the application throws (other than `HTTPError`), so a test sees the real
   * stack, and throw a TypeError for a result that is not a `Response`; `false` answers
   * either with a plain 500 and one line on the console, as the gateways do.
   * @default true
   */
  throwErrors?: boolean;
  /** `environ.remoteAddress`. @default '127.0.0.1' */
  remoteAddress?: string;
  /** Headers sent with every request (a request's own headers win). */
  headers?: HeadersInit;
}

const checkOptions = optionChecker<TestClientOptions>('TestClient', {
  baseURL: is.string,
  followRedirects: is.boolean,
  throwErrors: is.boolean,
  remoteAddress: is.string,
  headers: is.object,
});

/** One request's options: `RequestInit` plus shortcuts for JSON and form bodies. */
export interface TestRequestInit extends Omit<RequestInit, 'body' | 'method'> {
  /** A raw body. */
  body?: BodyInit | null;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: Record<string, string>;
  /** Overrides the client's `followRedirects` for this request. */
  followRedirects?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Drives an application in-process: builds a `Request` and an `Environ` (gateway `'test'`,
 * `scriptName` `''`, `pathInfo` from the path), calls the application, reads the body, and
 * stores cookies.
 */
export class TestClient {
  /** The cookies received so far. */
  readonly cookies = new CookieJar();
  readonly #app: Application;
  readonly #options: TestClientOptions;
  readonly #base: URL;
  /** The open WebSockets, for pub/sub among them. */
  readonly #peers: PeerHub = new Map();
  readonly #lifespans: ClientLifespans;

  /**
   * @throws TypeError when `app` is not a function; ConfigError for an unknown option, a value
   *   of the wrong kind, or a `baseURL` that is not an absolute http(s) URL; Error saying to `npm install -D tough-cookie` (its cookie jar's library, an optional
   *   peer dependency) when that is not installed.
   */
  constructor(app: Application, options: TestClientOptions = {}) {
    if (typeof app !== 'function') {
      throw new TypeError(`TestClient: the application must be a function, got ${typeof app}`);
    }
    this.#app = app;
    this.#lifespans = new ClientLifespans(app);
    this.#options = checkOptions(options);
    const base = options.baseURL ?? 'http://localhost';
    const url = URL.canParse(base) ? new URL(base) : undefined;
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
      throw new ConfigError(
        `TestClient: option "baseURL" must be an absolute http: or https: URL, got ${shown(base)}`,
      );
    }
    this.#base = url;
  }

  /**
   * Runs the application's lifespans' startups (see `withLifespan` in `mortar`), as a server
   * does before it serves; requests then see their state. Without it, a request that reaches
   * an application with a lifespan throws, naming it.
   * @throws LifespanError naming the lifespan whose startup failed (those before it stopped).
   */
  start(): Promise<void> {
    return this.#lifespans.start();
  }

  /**
   * Runs their shutdowns, in reverse, as a server does once its last request has finished.
   * @throws LifespanError naming each lifespan whose shutdown failed.
   */
  stop(): Promise<void> {
    return this.#lifespans.stop();
  }

  /** `await using client = …` stops the lifespans when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#lifespans.stop();
  }

  get(path: string, init?: TestRequestInit): Promise<TestResponse> {
    return this.request('GET', path, init);
  }
  head(path: string, init?: TestRequestInit): Promise<TestResponse> {
    return this.request('HEAD', path, init);
  }
  post(path: string, init?: TestRequestInit): Promise<TestResponse> {
    return this.request('POST', path, init);
  }
  put(path: string, init?: TestRequestInit): Promise<TestResponse> {
    return this.request('PUT', path, init);
  }
  patch(path: string, init?: TestRequestInit): Promise<TestResponse> {
    return this.request('PATCH', path, init);
  }
  delete(path: string, init?: TestRequestInit): Promise<TestResponse> {
    return this.request('DELETE', path, init);
  }

  /**
   * Opens a WebSocket to the application in memory: the handshake (a GET with the client's
   * headers and cookies, and `options.headers`) goes through the whole chain; a `Set-Cookie`
   * on the accept is stored. See `TestWebSocket` (`send`, `next()`, `close`, `closed`).
   *
   * @param path - As {@link TestClient.request}'s.
   * @throws (a rejection) `WebSocketRefusedError`, carrying the response (its status, headers
   *   and body), when the chain answered anything but its accept; TypeError for a malformed
   *   path or a subprotocol that is no token.
   */
  websocket(path: string, options: TestWebSocketOptions = {}): Promise<TestWebSocket> {
    const send = (url: URL, headers: Headers, slotFor: (request: Request) => UpgradeSlot) =>
      this.#send('GET', url, { headers }, slotFor);
    const { remoteAddress = '127.0.0.1', throwErrors = true } = this.#options;
    return openWebSocket(
      { send, hub: this.#peers, remoteAddress, throwErrors },
      this.#resolve(path),
      options,
    );
  }

  /**
   * Sends one request (and, when following, its redirects).
   *
   * @param path - Origin-form request target: `/path?query`, percent-encoded, on `baseURL`;
   *   or an absolute http(s) URL on any host (its host is the request's, as WebTest and Hono's
   *   `app.request` do). Redirects are followed to any http(s) URL: every request goes to the
   *   application in-process.
   * @throws TypeError for a malformed path; unless `throwErrors` is `false`, whatever the
   *   application throws (other than an `HTTPError`), and a TypeError when what it returns is
   *   not a `Response`.
   */
  async request(method: string, path: string, init: TestRequestInit = {}): Promise<TestResponse> {
    const follow = init.followRedirects ?? this.#options.followRedirects ?? false;
    const redirects: string[] = [];
    let url = this.#resolve(path);
    let currentMethod = method.toUpperCase();
    let currentInit = init;
    for (;;) {
      const response = await this.#send(currentMethod, url, currentInit);
      // As every gateway does, a HEAD response loses its body.
      if (currentMethod === 'HEAD') await response.body?.cancel();
      const bytes =
        currentMethod === 'HEAD' ? new Uint8Array() : new Uint8Array(await response.arrayBuffer());
      const location = response.headers.get('location');
      if (!follow || !REDIRECTS.has(response.status) || !location) {
        return new TestResponse(response, url.href, bytes, redirects);
      }
      if (redirects.length === 10)
        throw new Error(`TestClient: more than 10 redirects from ${path}`);
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        return new TestResponse(response, url.href, bytes, redirects);
      }
      redirects.push(next.href);
      url = next;
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && currentMethod === 'POST')
      ) {
        currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
        currentInit = { ...init, body: null, json: undefined, form: undefined };
      }
    }
  }

  #resolve(path: string): URL {
    if (path.startsWith('/')) {
      const checked = requestTargetPath(path);
      if (typeof checked !== 'string') {
        throw new TypeError(`TestClient: malformed path ${JSON.stringify(path)}: ${checked.error}`);
      }
    }
    let url: URL;
    try {
      url = path.startsWith('/') ? new URL(this.#base.origin + path) : new URL(path);
    } catch {
      throw new TypeError(`TestClient: ${JSON.stringify(path)} is not a path or an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`TestClient: ${path} is not an http(s) URL`);
    }
    return url;
  }

  async #send(
    method: string,
    url: URL,
    init: TestRequestInit,
    slotFor?: (request: Request) => UpgradeSlot,
  ): Promise<Response> {
    const pathInfo = url.pathname;
    const { json, form, followRedirects: _, body: rawBody, ...rest } = init;
    const headers = new Headers(this.#options.headers);
    for (const [name, value] of new Headers(init.headers)) headers.set(name, value);
    let body: BodyInit | null | undefined = rawBody;
    if (json !== undefined) {
      body = JSON.stringify(json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    } else if (form !== undefined) {
      body = new URLSearchParams(form).toString();
      if (!headers.has('content-type')) {
        headers.set('content-type', 'application/x-www-form-urlencoded');
      }
    }
    const cookie = this.cookies.header(url);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    const request = new Request(url, {
      ...rest,
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? null : (body ?? null),
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    const environ: Environ = {
      scriptName: '',
      pathInfo,
      remoteAddress: this.#options.remoteAddress ?? '127.0.0.1',
      serverProtocol: 'HTTP/1.1',
      gateway: 'test',
      ...(slotFor ? { websocket: slotFor(request) } : {}),
    };
    const response = await runApplication(
      this.#lifespans.app,
      request,
      environ,
      log,
      this.#options.throwErrors ?? true,
    );
    this.cookies.store(url, response.headers.getSetCookie());
    return response;
  }
}
