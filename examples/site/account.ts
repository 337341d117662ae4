/**
 * The demo's session pages: a visit counter, and a login that calls `regenerate()` (against
 * session fixation) and a logout that calls `destroy()`, both forms protected by `csrf()` and
 * answered with a flash message. Mounted at `/account`.
 */
import { csrf, csrfToken } from '../../middleware/csrf/index.js';
import { getSession } from '../../middleware/session/index.js';
import { type Application, escapeHTML, FastResponse, HTTPError } from '../../src/index.js';

/** Renders a page in the demo's style. */
export type Page = (title: string, body: string, status?: number) => Response;

const redirect = (location: string): Response =>
  new FastResponse(null, { status: 303, headers: { location } });

/** The account application; `page` renders in the site's style. */
export function accountApp(page: Page): Application {
  return csrf()(async (request, environ) => {
    const base = environ.scriptName;
    const here = escapeHTML(base);
    const s = await getSession<{ visits: number; user: string }>(environ);
    switch (`${request.method} ${environ.pathInfo || '/'}`) {
      case 'GET /visits': {
        const visits = (s.get('visits') ?? 0) + 1;
        s.set('visits', visits);
        return page(
          'Visits',
          `<h1>Visits</h1><p>You have seen this page <strong>${visits}</strong> time${visits === 1 ? '' : 's'} in this session.</p>
<p>Session <code>${escapeHTML(s.id.slice(0, 8))}…</code>, started ${escapeHTML(new Date(s.createdAt).toISOString())}.</p>
<p><a href="${here}/visits">Again</a> · <a href="${here}/">Account</a> · <a href="/">Home</a></p>`,
        );
      }
      case 'GET /': {
        const user = s.get('user');
        const token = `<input type="hidden" name="_csrf" value="${escapeHTML(await csrfToken(environ))}">`;
        const notices = s
          .flashes<string>('notice')
          .map((notice) => `<p><em>${escapeHTML(notice)}</em></p>`)
          .join('');
        const body =
          notices +
          (user
            ? `<p>Signed in as <strong>${escapeHTML(user)}</strong> (session <code>${escapeHTML(s.id.slice(0, 8))}…</code>).</p>
<form method="post" action="${here}/logout">${token}<button>Sign out</button></form>`
            : `<p>Not signed in.</p>
<form method="post" action="${here}/login">${token}<label>Name <input name="user" required maxlength="40"></label> <button>Sign in</button></form>`);
        return page(
          'Account',
          `<h1>Account</h1>${body}<p><a href="${here}/visits">Visit counter</a> · <a href="/">Home</a></p>`,
        );
      }
      case 'POST /login': {
        const form = await request.formData();
        const user = String(form.get('user') ?? '').trim();
        if (!user || user.length > 40)
          throw new HTTPError(400, { body: 'a name of 1 to 40 characters, please' });
        await s.regenerate();
        s.set('user', user);
        s.flash('notice', `Signed in as ${user}.`);
        return redirect(`${base}/`);
      }
      case 'POST /logout':
        await s.destroy();
        return redirect(`${base}/`);
      default:
        throw new HTTPError(404);
    }
  });
}
