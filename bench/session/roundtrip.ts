/**
 * In-process cost of one cookie-session round trip — read the sealed cookie, change a value,
 * seal it again — for mortar's CookieStore, iron-session and h3's useSession. Each iteration
 * is one request carrying the cookie the previous one set, as a browser would.
 */
import { H3Event, useSession } from 'h3';
import { getIronSession } from 'iron-session';
import { CookieStore, getSession, session } from '../../middleware/session/index.js';
import { type Application, FastResponse } from '../../src/index.js';

const password = 'a-benchmark-secret-that-is-long-enough-0123456789';
const url = 'http://localhost/';

/** One request in, the next cookie out. */
type RoundTrip = (cookie: string) => Promise<string>;

const cookieOf = (headers: Headers, name: string): string => {
  const header = headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!header) throw new Error(`no ${name} cookie set`);
  return header.split(';')[0]!;
};

const counter: Application = async (_request, environ) => {
  const s = await getSession(environ);
  s.set('count', ((s.get('count') as number) ?? 0) + 1);
  return new FastResponse('ok');
};
const mortarApp = session({ secret: password, store: new CookieStore() })(counter);

const mortar: RoundTrip = async (cookie) => {
  const response = await mortarApp(new Request(url, { headers: { cookie } }), {
    scriptName: '',
    pathInfo: '/',
    gateway: 'test',
  });
  return cookieOf(response.headers, 'mortar_session');
};

const ironSession: RoundTrip = async (cookie) => {
  const request = new Request(url, { headers: { cookie } });
  const response = new Response('ok');
  const s = await getIronSession<{ count?: number }>(request, response, {
    password,
    cookieName: 'iron',
  });
  s.count = (s.count ?? 0) + 1;
  await s.save();
  return cookieOf(response.headers, 'iron');
};

const h3Session: RoundTrip = async (cookie) => {
  const event = new H3Event(new Request(url, { headers: { cookie } }));
  const s = await useSession<{ count?: number }>(event, { password, name: 'h3' });
  await s.update({ count: (s.data.count ?? 0) + 1 });
  return cookieOf(event.res.headers, 'h3');
};

async function opsPerSecond(roundTrip: RoundTrip, milliseconds: number): Promise<number> {
  let cookie = await roundTrip('');
  for (let i = 0; i < 50; i++) cookie = await roundTrip(cookie); // warm-up
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < milliseconds) {
    cookie = await roundTrip(cookie);
    count++;
  }
  return (count * 1000) / (performance.now() - start);
}

/** Median round trips per second of each, over `runs` interleaved runs. */
export async function roundTrips(runs: number, milliseconds: number) {
  const cases: [string, RoundTrip][] = [
    ['mortar CookieStore', mortar],
    ['iron-session', ironSession],
    ['h3 useSession', h3Session],
  ];
  const samples = cases.map(() => [] as number[]);
  for (let run = 0; run < runs; run++) {
    for (const [index, [, roundTrip]] of cases.entries()) {
      samples[index]!.push(await opsPerSecond(roundTrip, milliseconds));
    }
  }
  return cases.map(([label], index) => {
    const sorted = samples[index]!.sort((a, b) => a - b);
    return { label, perSecond: sorted[Math.floor(sorted.length / 2)]! };
  });
}
