/**
 * What the FastCGI gateway keeps per request (an exchange) and per server (its settings).
 */
import type { Application } from '../../types.js';

/** One request on a connection. */
export interface Exchange {
  id: number;
  keepConnection: boolean;
  params: Buffer[];
  /** Bytes of PARAMS so far. */
  paramsSize: number;
  /** Feeds the request body; set once PARAMS show the request has one. */
  stdin: ReadableStreamDefaultController<Uint8Array> | undefined;
  /**
   * Bytes of STDIN the body still takes by `CONTENT_LENGTH` (RFC 3875 §4.2: never read past
   * it); `undefined` when the front end gave no length (the body is STDIN to its end).
   */
  remaining: number | undefined;
  /** Made when the application first reads `request.signal`. */
  abort: AbortController | undefined;
  aborted: boolean;
  started: boolean;
  done: boolean;
}

/** What every connection of one server shares. */
export interface FastCGISettings {
  app: Application;
  log: (line: string) => void;
  /** The answers to FCGI_GET_VALUES. */
  values: Readonly<Record<string, string>>;
  /** True once the server shuts down: connections end when idle. */
  draining: () => boolean;
  /** Largest FCGI_PARAMS stream of one request, in bytes; a larger one is answered 431. */
  maxParamsSize: number;
  /** FCGI_MAX_REQS: requests running at once in this process; more are refused (overloaded). */
  maxRequests: number;
  /** Requests running now, across the server's connections. */
  running: { count: number };
}

/** The exchange's abort signal, made on first use (already aborted if the request was). */
export function signalOf(exchange: Exchange): AbortSignal {
  if (!exchange.abort) {
    exchange.abort = new AbortController();
    if (exchange.aborted) exchange.abort.abort();
  }
  return exchange.abort.signal;
}
