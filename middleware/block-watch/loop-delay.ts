/**
 * Event-loop delay for production, where no inspector runs: `perf_hooks.monitorEventLoopDelay`
 * percentiles on a status line every `interval` seconds, and on demand for a status endpoint.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { is, optionChecker, valueKind } from '../../src/_internal/options.js';

/** Options of {@link loopDelay}. */
export interface LoopDelayOptions {
  /** Seconds between status lines; `0`: no line (read `status()` yourself). @default 60 */
  interval?: number;
  /** Where each status line goes. @default stderr */
  log?: (line: string) => void;
  /** The sampling timer's period, in milliseconds (Node's `resolution`). @default 20 */
  resolution?: number;
}

/** Event-loop delay since the last line (or `status({ reset: true })`), in milliseconds. */
export interface LoopDelayStatus {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Seconds the figures cover. */
  seconds: number;
}

/** The longest interval Node's timers take, in whole seconds (2^31 − 1 ms; longer fires at once). */
const LONGEST_INTERVAL = Math.floor(2_147_483_647 / 1000);

const checkOptions = optionChecker<LoopDelayOptions>('loopDelay', {
  // 3_600_000 (an hour in milliseconds) would be a line every millisecond: refused.
  interval: valueKind(
    `seconds (an integer from 0 to ${LONGEST_INTERVAL})`,
    (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LONGEST_INTERVAL,
  ),
  log: is.function,
  resolution: is.milliseconds(1),
});

/**
 * Starts measuring the event loop's delay: a line such as `mortar loop-delay: p50 10.1 ms,
 * p90 10.4 ms, p99 12.0 ms, max 130.0 ms over 60 s` every `interval` seconds (each line
 * covers the time since the one before), and `status()` for an endpoint. Node's delay
 * includes the sampling timer's `resolution`, as its documentation says.
 *
 * @throws ConfigError, its message starting `loopDelay:`, for an unknown option (with the
 *   name it is likely a typo of) or a value of the wrong kind: an `interval` that is not whole
 *   seconds from 0 to 2_147_483 (about 24 days), a `resolution` that is not whole milliseconds ≥ 1.
 */
export function loopDelay(options: LoopDelayOptions = {}): {
  status(settings?: { reset?: boolean }): LoopDelayStatus;
  line(settings?: { reset?: boolean }): string;
  stop(): void;
} {
  checkOptions(options);
  const interval = options.interval ?? 60;
  const resolution = options.resolution ?? 20;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const histogram = monitorEventLoopDelay({ resolution });
  histogram.enable();
  let since = performance.now();
  const status = ({ reset = false } = {}): LoopDelayStatus => {
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const figures = {
      p50: ms(histogram.percentile(50)),
      p90: ms(histogram.percentile(90)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      seconds: Math.round((performance.now() - since) / 1000),
    };
    if (reset) {
      histogram.reset();
      since = performance.now();
    }
    return figures;
  };
  const line = (settings?: { reset?: boolean }) => {
    const s = status(settings);
    const f = (n: number) => n.toFixed(1);
    return `mortar loop-delay: p50 ${f(s.p50)} ms, p90 ${f(s.p90)} ms, p99 ${f(s.p99)} ms, max ${f(s.max)} ms over ${s.seconds} s`;
  };
  const timer = interval > 0 ? setInterval(() => log(line({ reset: true })), interval * 1000) : 0;
  if (timer) timer.unref();
  return {
    status,
    line,
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
