/**
 * What every development page (debug()'s traceback, profile()'s index) is served with: the
 * shared stylesheet, `no-store` and `nosniff`, and a nonce CSP with `frame-ancestors 'none'`
 * under which the page's own inline style and script run and nothing is fetched elsewhere.
 */
import { readFileSync } from 'node:fs';

/** The pages' stylesheet, a real file beside this one (copied to dist/ by the build), read once. */
export const PAGE_STYLE = readFileSync(new URL('./page.css', import.meta.url), 'utf8');

/** Headers of every development response. */
export const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The Content-Security-Policy of a page whose inline `<style>` and `<script>` carry `nonce`:
 * nothing else runs or loads, requests go to this origin only, no framing.
 */
export function pageCSP(nonce: string): string {
  return `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** JSON for a `<script type="application/json">`: no `<` that could close the element. */
export function scriptJSON(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}
