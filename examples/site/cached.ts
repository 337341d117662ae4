/**
 * `/cached`: a page that takes half a second to build, behind `cache()` — the first request waits,
 * the next minute's come from the store (then stale-while-revalidate refreshes it in the
 * background). The page shows its own `Cache-Status` by asking for its headers again.
 */
import { cache } from '../../middleware/cache/index.js';
import { type Application, escapeHTML } from '../../src/index.js';

type Page = (title: string, body: string) => Response;

/** The slow page, cached (60 s fresh, 30 s stale while it refreshes). */
export function cachedApp(page: Page): Application {
  const slow: Application = async () => {
    await new Promise((resolve) => setTimeout(resolve, 500)); // a slow query, say
    const made = new Date().toISOString();
    const response = page(
      'A slow page, cached',
      `<h1>A slow page, cached</h1>
<p>Built in 500 ms at <code>${escapeHTML(made)}</code>. Reload: for the next 60 seconds it comes
from <code>cache()</code> at once, with the same time.</p>
<p>This response's <code>Cache-Status</code>: <code id="status">…</code></p>
<script>
fetch(location.href, { method: 'HEAD' }).then((r) => {
  document.getElementById('status').textContent = r.headers.get('cache-status');
});
</script>
<p><a href="/">Home</a></p>`,
    );
    response.headers.set('cache-control', 'max-age=60, stale-while-revalidate=30');
    return response;
  };
  return cache()(slow);
}
