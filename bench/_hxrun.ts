import { measurePaired, quartiles, startServer } from './lib.js';

const servers = new URL('./_hx.ts', import.meta.url);
const cases = ['none', 'short', 'long', 'longv'];
const res = new Map<string, number[]>();
for (let t = 0; t < 3; t++) {
  const run = new Map<string, { url: string; child: { kill(): void } }>();
  for (const c of cases) run.set(c, await startServer(servers, c, {}, [], true));
  for (const c of cases.slice(1)) {
    const s = await measurePaired(run.get('none')!.url + '/', run.get(c)!.url + '/', 4, 1);
    res.set(c, [...(res.get(c) ?? []), ...s.map((x) => x.ratio)]);
  }
  for (const r of run.values()) r.child.kill();
}
for (const [c, r] of res) {
  const q = quartiles(r);
  console.log(`${c}/none: ${q.median.toFixed(3)} (${q.low.toFixed(2)}…${q.high.toFixed(2)})`);
}
