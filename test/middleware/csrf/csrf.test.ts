import { describe, expect, it } from 'vitest';
import { csrf, csrfToken } from '../../../middleware/csrf/index.js';
import { session } from '../../../middleware/session/index.js';
import { type Application, compose, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

const secret = 'a-csrf-test-secret-that-is-long-enough-012';
const site: Application = async (request, environ) => {
  if (request.method === 'GET') return new FastResponse(await csrfToken(environ));
  const form = await request.formData();
  return new FastResponse(`posted ${form.get('word')}`);
};
const app = (options = {}) => compose(session({ secret }), csrf(options))(site);

describe('csrf', () => {
  it('accepts the session token from the form field or the header, and the app reads the body', async () => {
    const client = new TestClient(app());
    const token = await (await client.get('/')).text();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const posted = await client.post('/', { form: { _csrf: token, word: 'tea' } });
    expect(await posted.text()).toBe('posted tea');
    const scripted = await client.post('/', {
      form: { word: 'coffee' },
      headers: { 'x-csrf-token': token },
    });
    expect(await scripted.text()).toBe('posted coffee');
  });

  it('refuses a missing or foreign token with 403, saying why', async () => {
    const client = new TestClient(app());
    const none = await client.post('/', { form: { word: 'x' } });
    expect(none.status).toBe(403);
    expect(await none.text()).toMatch(/the session has no token/);
    await client.get('/');
    const missing = await client.post('/', { form: { word: 'x' } });
    expect(await missing.text()).toMatch(/no token in the _csrf field or the x-csrf-token header/);
    const other = await (await new TestClient(app()).get('/')).text();
    const foreign = await client.post('/', { form: { _csrf: other, word: 'x' } });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toMatch(/not this session/);
  });

  it('refuses cross-site requests by Sec-Fetch-Site or Origin, allows trusted origins', async () => {
    const stateless = new TestClient(app({ token: false }));
    const cross = await stateless.post('/', {
      form: { word: 'x' },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(cross.status).toBe(403);
    expect(await cross.text()).toMatch(/cross-site \(Sec-Fetch-Site\)/);
    const evil = await stateless.post('/', {
      form: { word: 'x' },
      headers: { origin: 'https://evil.example' },
    });
    expect(evil.status).toBe(403);
    const same = await stateless.post('/', {
      form: { word: 'ok' },
      headers: { origin: 'http://localhost' },
    });
    expect(await same.text()).toBe('posted ok');
    const typed = await stateless.post('/', {
      form: { word: 'ok' },
      headers: { 'sec-fetch-site': 'none' },
    });
    expect(typed.status).toBe(200);
    const trusted = new TestClient(app({ token: false, trustedOrigins: ['https://app.example'] }));
    const friend = await trusted.post('/', {
      form: { word: 'ok' },
      headers: { origin: 'https://app.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(friend.status).toBe(200);
    expect(() => csrf({ trustedOrigins: ['app.example'] })).toThrow(
      /csrf: option "trustedOrigins" must be a list of origins/,
    );
  });

  it('csrfToken names the missing middleware', async () => {
    await expect(csrfToken({ scriptName: '', pathInfo: '/', gateway: 'test' })).rejects.toThrow(
      /csrf\(\) from 'mortar\/csrf'/,
    );
  });
});
