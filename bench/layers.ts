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
const request = new Request('http://localhost/app/x');
const environ: Environ = { scriptName: '', pathInfo: '/app/x', gateway: 'test' };

function measure(app: Application, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) app(request, environ);
  return Number(process.hrtime.bigint() - start) / iterations;
}

/** Median nanoseconds per call of each case, over `runs` runs of 1e6 calls. */
export function layerCosts(runs = 5): { label: string; ns: number }[] {
  for (const [, app] of cases) measure(app, 200_000);
  return cases.map(([label, app]) => {
    const samples = Array.from({ length: runs }, () => measure(app, 1_000_000)).sort(
      (a, b) => a - b,
    );
    return { label, ns: samples[Math.floor(runs / 2)]! };
  });
}
