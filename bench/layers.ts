/**
 * In-process cost of composition, without sockets: nanoseconds per request for `hello`
 * alone, under one `urlmap` mount, and under 3 pass-through middlewares + helloWorld + urlmap.
 * Over HTTP these differences sit inside run-to-run noise; here they can be read.
 */
import { hello, helloWorld } from '../middleware/hello/index.js';
import { urlmap } from '../middleware/urlmap/index.js';
import { type Application, compose, type Environ, type Middleware } from '../src/index.js';

const passThrough: Middleware = (app) => (request, environ) => app(request, environ);
const cases: [string, Application][] = [
  ['hello', hello],
  ["urlmap({'/app': hello})", urlmap({ '/app': hello })],
  [
    '3 pass-through + helloWorld + urlmap',
    compose(passThrough, passThrough, passThrough, helloWorld())(urlmap({ '/app': hello })),
  ],
];
function measure(app: Application, path: string, iterations: number): number {
  const request = new Request(`http://localhost${path}`);
  const environ: Environ = { scriptName: '', pathInfo: path, gateway: 'test' };
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) app(request, environ);
  return Number(process.hrtime.bigint() - start) / iterations;
}

/**
 * Median nanoseconds per call of each `[label, app]`, over `runs` runs of 1e6 calls of a GET
 * for `path` (after a warm-up). Synchronous answers only are timed fully; keep to them.
 */
export function callCosts(
  apps: readonly [string, Application][],
  path = '/app/x',
  runs = 5,
): { label: string; ns: number }[] {
  for (const [, app] of apps) measure(app, path, 200_000);
  return apps.map(([label, app]) => {
    const samples = Array.from({ length: runs }, () => measure(app, path, 1_000_000)).sort(
      (a, b) => a - b,
    );
    return { label, ns: samples[Math.floor(runs / 2)]! };
  });
}

/** The composition cases above. */
export const layerCosts = (runs = 5) => callCosts(cases, '/app/x', runs);
