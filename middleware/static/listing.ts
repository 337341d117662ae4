/**
 * The HTML listing of a folder without an index file (`listing: true`), as serve-index, nginx's
 * autoindex and Python's http.server show one: folders first, then files, by name; each with
 * its size (in binary units, the exact bytes in a `<data>` value and a tooltip) and its
 * modification time (UTC, in a `<time datetime>`). Names escaped, links relative, dotfiles
 * left out by the dotfiles policy, and an entry the symlink policy refuses left out too (it
 * would not be served). The page carries its own Content-Security-Policy: nothing but its one
 * style sheet, allowed by hash — no script, no other inline style.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { escapeHTML } from '../../src/http-error.js';
import { FastResponse } from '../../src/response.js';
import type { Environ } from '../../src/types.js';
import type { FileView } from './files.js';
import { hasDotfile } from './path.js';

const STYLE = `body{font:15px/1.6 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}th,td{padding:.1rem .6rem;text-align:left}
th{border-bottom:1px solid #8884;font-weight:600}td.size,th.size{text-align:right}
td.size,td.time{white-space:nowrap;font-variant-numeric:tabular-nums}
a{text-decoration:none}a:hover{text-decoration:underline}`;

/** The listing's policy: its style sheet by hash (CSP3 §8.4), and nothing else. */
const CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; img-src 'self'; base-uri 'none'; form-action 'none'`;

/** One row of the listing. */
interface Row {
  name: string;
  folder: boolean;
  /** Bytes; `undefined` for a folder. */
  size: number | undefined;
  /** Milliseconds since the epoch. */
  mtimeMs: number;
}

/**
 * The listing of `directory` (a real path under the root) as an HTML response, answered at
 * `environ.scriptName + environ.pathInfo`; a HEAD request gets the headers alone.
 */
export async function listDirectory(
  request: Request,
  environ: Environ,
  directory: string,
  view: FileView,
  dotfiles: 'ignore' | 'deny' | 'allow',
  allowed: ReadonlySet<string>,
): Promise<Response> {
  const names = (await readdir(directory)).filter(
    (name) => dotfiles === 'allow' || !hasDotfile([name], allowed),
  );
  const rows = (await Promise.all(names.map((name) => rowOf(view, directory, name))))
    .filter((row) => row !== undefined)
    .sort((a, b) => Number(b.folder) - Number(a.folder) || a.name.localeCompare(b.name));
  const here = `${environ.scriptName}${environ.pathInfo}`;
  let title: string;
  try {
    title = decodeURIComponent(here);
  } catch {
    title = here;
  }
  const parent =
    environ.pathInfo !== '/' && environ.pathInfo !== ''
      ? '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n'
      : '';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Index of ${escapeHTML(title)}</title>
<style>${STYLE}</style></head>
<body><h1>Index of ${escapeHTML(title)}</h1>
<table>
<thead><tr><th>Name</th><th class="size">Size</th><th>Modified (UTC)</th></tr></thead>
<tbody>
${parent}${rows.map(rowHTML).join('\n')}
</tbody></table></body></html>
`;
  return new FastResponse(request.method === 'HEAD' ? null : html, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': CSP,
    },
  });
}

/** `name` in `directory` as the static files serve it; `undefined` for what they would not. */
async function rowOf(view: FileView, directory: string, name: string): Promise<Row | undefined> {
  const entry = await view.lookup(directory + path.sep + name);
  if (entry.kind === 'file')
    return { name, folder: false, size: entry.size, mtimeMs: entry.mtimeMs };
  if (entry.kind === 'missing') return undefined;
  try {
    return { name, folder: true, size: undefined, mtimeMs: (await stat(entry.path)).mtimeMs };
  } catch {
    return undefined; // gone since it was looked up
  }
}

function rowHTML(row: Row): string {
  const href = escapeHTML(encodeURIComponent(row.name) + (row.folder ? '/' : ''));
  const name = escapeHTML(row.name + (row.folder ? '/' : ''));
  const size =
    row.size === undefined
      ? ''
      : `<data value="${row.size}" title="${row.size} bytes">${humanSize(row.size)}</data>`;
  const iso = new Date(row.mtimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const time = `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)}</time>`;
  return `<tr><td><a href="${href}">${name}</a></td><td class="size">${size}</td><td class="time">${time}</td></tr>`;
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * Bytes in binary units (1 KiB = 1024 bytes), one decimal under 10: `0 B`, `1023 B`,
 * `1.5 KiB`, `9.9 MiB`, `12 MiB`, `512 GiB`.
 */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value < 10 ? value.toFixed(1) : Math.round(value).toString();
  // 1023.9 KiB rounds to "1024 KiB": show it as the next unit instead.
  if (shown === '1024' && unit < UNITS.length - 1) return `1.0 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}
