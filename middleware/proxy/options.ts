/**
 * The proxy's options, checked and resolved once, when `proxy()` is called: the core's
 * (`mortar/proxy`) and the table `mortar/proxy/node`'s `proxy` extends with its transport's.
 */
import { is, type OptionChecks, optionChecker, valueKind } from '../../src/_internal/options.js';
import { parseTarget, type Target } from './path.js';
import type { Rewrites } from './response.js';
import { fetchTransport, type Transport, type WebSocketTransport } from './transport.js';

/** Options of `proxy()`. */
export interface ProxyOptions {
  /**
   * The HTTP client. `mortar/proxy/node`'s `proxy` defaults to undici (bodies byte for byte,
   * keep-alive, a CA option). @default fetchTransport() (global fetch, `redirect: 'manual'`)
   */
  transport?: Transport;
  /**
   * How a WebSocket handshake reaches the upstream. `mortar/proxy/node`'s `proxy` has one over
   * `ws`; without one, a handshake at a gateway that can upgrade is answered 501.
   * @default undefined (none)
   */
  webSocketTransport?: WebSocketTransport;
  /** Which forwarding fields to add: `X-Forwarded-*` or RFC 7239 `Forwarded`. @default 'x-forwarded' */
  forwarded?: 'x-forwarded' | 'forwarded';
  /** Send the client's `Host` (the public one) instead of the target's. @default false */
  preserveHost?: boolean;
  /** Rewrite `Location`/`Content-Location` and `Set-Cookie` `Path` to the mount. @default { location: true, cookiePath: true } */
  rewrite?: Rewrites;
  /** Timeouts in milliseconds. @default { headers: 60000, connect: 10000 } */
  timeout?: ProxyTimeouts;
  /** Where the one line of each failure goes. @default console.error */
  log?: (line: string) => void;
}

/** Timeouts of `proxy()`, in milliseconds. */
export interface ProxyTimeouts {
  /** From sending the request to the upstream's response head. @default 60000 */
  headers?: number;
  /** To open a connection (`mortar/proxy/node`'s transport; fetch has its own). @default 10000 */
  connect?: number;
}

/** The longest delay Node's timers take (2^31 − 1 ms); a longer one fires at once. */
const LONGEST_TIMER = 2_147_483_647;

/** A timeout in milliseconds that a timer can wait: an integer from 1 to 2^31 − 1. */
export const TIMER_MILLISECONDS = valueKind(
  `milliseconds (an integer from 1 to ${LONGEST_TIMER})`,
  (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= LONGEST_TIMER,
);

/** The value checks of {@link ProxyOptions}, which `mortar/proxy/node`'s table spreads. */
export const PROXY_CHECKS: OptionChecks<ProxyOptions> = {
  transport: is.function,
  webSocketTransport: is.function,
  forwarded: is.oneOf('x-forwarded', 'forwarded'),
  preserveHost: is.boolean,
  rewrite: is.object,
  timeout: is.object,
  log: is.function,
};

const checkOptions = optionChecker<ProxyOptions>('proxy', PROXY_CHECKS);
const checkTimeouts = optionChecker<ProxyTimeouts>(
  'proxy',
  { headers: TIMER_MILLISECONDS, connect: TIMER_MILLISECONDS },
  'timeout.',
);
const checkRewrites = optionChecker<Rewrites>(
  'proxy',
  { location: is.boolean, cookiePath: is.boolean },
  'rewrite.',
);

/**
 * Checks the nested records of `proxy()`'s options (`timeout.`, `rewrite.`), once the
 * options themselves were checked.
 * @throws ConfigError naming `proxy` and the option, as `timeout.headers`.
 */
export function checkNestedOptions(options: ProxyOptions): void {
  checkTimeouts(options.timeout);
  checkRewrites(options.rewrite);
}

/** The settings one proxy application runs with. */
export interface Settings {
  target: Target;
  transport: Transport;
  webSocketTransport: WebSocketTransport | undefined;
  style: 'x-forwarded' | 'forwarded';
  preserveHost: boolean;
  rewrites: Required<Rewrites>;
  /** Milliseconds. */
  headersTimeout: number;
  log: (line: string) => void;
}

/**
 * Checks `proxy()`'s target and options and resolves their defaults.
 * @throws ConfigError naming `proxy` for a target that is not an http(s) URL fit to be a base,
 *   an unknown option, or a value of the wrong kind.
 */
export function resolveSettings(target: string | URL, options: ProxyOptions | undefined): Settings {
  const given = checkOptions(options);
  checkNestedOptions(given);
  return {
    target: parseTarget(target),
    transport: given.transport ?? fetchTransport(),
    webSocketTransport: given.webSocketTransport,
    style: given.forwarded ?? 'x-forwarded',
    preserveHost: given.preserveHost === true,
    rewrites: {
      location: given.rewrite?.location ?? true,
      cookiePath: given.rewrite?.cookiePath ?? true,
    },
    headersTimeout: given.timeout?.headers ?? 60_000,
    log: given.log ?? ((line) => console.error(line)),
  };
}
