/**
 * The HTML listing of a folder without an index file (`listing: true`): names escaped, links
 * relative, dotfiles left out by the dotfiles policy.
 */
import { readdir } from 'node:fs/promises';
import { escapeHTML } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import type { Environ } from '../../src/types.js';
import { hasDotfile } from './path.js';

export async function listDirectory(
  request: Request,
  environ: Environ,
  directory: string,
  dotfiles: 'ignore' | 'deny' | 'allow',
  allowed: ReadonlySet<string>,
): Promise<Response> {
  const entries = (await readdir(directory, { withFileTypes: true }))
    .filter((e) => dotfiles === 'allow' || !hasDotfile([e.name], allowed))
    .sort(
      (a, b) => Number(b.isDirectory()) - Number(a.isDirectory()) || a.name.localeCompare(b.name),
    );
  const here = `${environ.scriptName}${environ.pathInfo}`;
  const items = entries.map((e) => {
    const name = e.name + (e.isDirectory() ? '/' : '');
    return `<li><a href="${escapeHTML(encodeURIComponent(e.name) + (e.isDirectory() ? '/' : ''))}">${escapeHTML(name)}</a></li>`;
  });
  if (environ.pathInfo !== '/' && environ.pathInfo !== '')
    items.unshift('<li><a href="../">../</a></li>');
  let title: string;
  try {
    title = decodeURIComponent(here);
  } catch {
    title = here;
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Index of ${escapeHTML(title)}</title>
<style>body{font:15px/1.6 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}
ul{list-style:none;padding:0}a{text-decoration:none}a:hover{text-decoration:underline}</style></head>
<body><h1>Index of ${escapeHTML(title)}</h1>
<ul>
${items.join('\n')}
</ul></body></html>
`;
  return new FastResponse(request.method === 'HEAD' ? null : html, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    },
  });
}
