/**
 * `npm run bench:debug`: what `debug()` costs a request that throws nothing — the same
 * application over HTTP with and without it (its inspector session is enabled and pauses on
 * exceptions). Target: ≤ 5 % fewer req/s.
 */
import { connections, loader, measure, runs, seconds, startServer } from '../lib.js';

const script = new URL('./servers.ts', import.meta.url);
// NODE_ENV=development: debug() refuses to run in production.
const plain = await startServer(script, 'plain', { NODE_ENV: 'development' });
const withDebug = await startServer(script, 'debug', { NODE_ENV: 'development' });
try {
  const [a, b] = await measure([`${plain.url}/app/x`, `${withDebug.url}/app/x`]);
  console.log(
    `\nmedian of ${runs} runs × ${seconds} s, ${connections} connections, ${loader}, Node ${process.version}\n`,
  );
  console.log('| server | req/s |\n|---|---:|');
  console.log(`| without debug() | ${Math.round(a!.requests)} |`);
  console.log(`| with debug() | ${Math.round(b!.requests)} |`);
  console.log(
    `\ndebug() costs ${((1 - b!.requests / a!.requests) * 100).toFixed(1)} % req/s (target ≤ 5 %)`,
  );
} finally {
  plain.child.kill();
  withDebug.child.kill();
}
