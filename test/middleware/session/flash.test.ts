import { describe, expect, it } from 'vitest';
import { getSession, session } from '../../../middleware/session/index.js';
import { type Application, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

const secret = 'a-flash-test-secret-that-is-long-enough-01';

describe('flash messages', () => {
  it('survive one redirect and are gone once read', async () => {
    const app: Application = async (request, environ) => {
      const s = await getSession(environ);
      if (request.method === 'POST') {
        s.flash('notice', 'Saved.');
        s.flash('notice', 'And mailed.');
        return new FastResponse(null, { status: 303, headers: { location: '/' } });
      }
      return FastResponse.json({ notice: s.flashes<string>('notice'), keys: s.keys() });
    };
    const client = new TestClient(session({ secret })(app));
    const after = await client.post('/', { followRedirects: true });
    expect(await after.json()).toEqual({ notice: ['Saved.', 'And mailed.'], keys: [] });
    expect(await (await client.get('/')).json()).toEqual({ notice: [], keys: [] });
  });

  it('refuses a value that would not survive JSON', async () => {
    const app: Application = async (_request, environ) => {
      (await getSession(environ)).flash('when', new Date());
      return new Response('no');
    };
    const client = new TestClient(session({ secret })(app), { throwErrors: true });
    await expect(client.get('/')).rejects.toThrow(/session\.flash\("when"\)/);
  });
});

describe('typed session data', () => {
  it('types get and set by key', async () => {
    const app: Application = async (_request, environ) => {
      const s = await getSession<{ userId: string; cart: string[] }>(environ);
      s.set('cart', [...(s.get('cart') ?? []), 'tea']);
      // @ts-expect-error a number is not a userId
      if (Math.random() > 2) s.set('userId', 1);
      const cart: string[] | undefined = s.get('cart');
      return FastResponse.json(cart);
    };
    const client = new TestClient(session({ secret })(app));
    await client.get('/');
    expect(await (await client.get('/')).json()).toEqual(['tea', 'tea']);
  });
});
