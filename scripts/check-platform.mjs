#!/usr/bin/env node
// `npm run check:platform` (part of `npm run check`): bundles the platform-only exports for a
// runtime that is not Node (esbuild, --platform=neutral) and fails when the bundle needs a
// `node:` module or a Node-only package — DESIGN.md §2's promise that `mortar`,
// `mortar/urlmap`, `mortar/hello`, `mortar/session` (memory and cookie stores),
// `mortar/proxy-fix`, `mortar/body-limit`, `mortar/access-log`, `mortar/compress` and
// `mortar/csrf` and `mortar/proxy` (its core; the undici transport is `mortar/proxy/node`) run on
// Deno, Bun and Workers as they are.
//
// `mortar/...` imports resolve to the TypeScript sources through package.json's exports
// (`./dist/x.js` is built from `./x.ts`), so the check needs no build.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { exports } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

const entry = `
import { compose, defineEnvironKey, HTTPError } from 'mortar';
import { hello } from 'mortar/hello';
import { webSocket } from 'mortar/websocket';
import { CookieStore, MemoryStore, session } from 'mortar/session';
import { urlmap } from 'mortar/urlmap';
import { proxyFix } from 'mortar/proxy-fix';
import { bodyLimit } from 'mortar/body-limit';
import { accessLog } from 'mortar/access-log';
import { compress } from 'mortar/compress';
import { csrf } from 'mortar/csrf';
import { proxy } from 'mortar/proxy';
export default [compose, defineEnvironKey, HTTPError, hello, CookieStore, MemoryStore, session, urlmap, proxyFix, bodyLimit, accessLog, compress, csrf, proxy, webSocket];
`;

/** Resolves `mortar` and `mortar/x` to the source file that package.json's export builds from. */
const sources = {
  name: 'mortar-sources',
  setup(b) {
    b.onResolve({ filter: /^mortar(?:\/|$)/ }, (args) => {
      const key = args.path === 'mortar' ? '.' : `./${args.path.slice('mortar/'.length)}`;
      const target = exports[key]?.default;
      if (!target) return { errors: [{ text: `package.json exports no "${key}"` }] };
      const file = target.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
      return { path: path.join(root, file) };
    });
  },
};

const result = await build({
  stdin: { contents: entry, resolveDir: root, loader: 'ts' },
  bundle: true,
  write: false,
  metafile: true,
  platform: 'neutral',
  format: 'esm',
  mainFields: ['module', 'main'],
  external: ['node:*'],
  plugins: [sources],
  logLevel: 'silent',
}).catch((error) => {
  for (const message of error.errors ?? [error]) {
    const where = message.location ? ` (${message.location.file}:${message.location.line})` : '';
    console.error(`check:platform: ${message.text}${where}`);
  }
  process.exit(1);
});

const problems = [];
for (const [file, input] of Object.entries(result.metafile.inputs)) {
  for (const imported of input.imports) {
    if (imported.external && imported.path.startsWith('node:')) {
      problems.push(`${file} imports ${imported.path}`);
    }
  }
}
const packages = new Set(
  Object.keys(result.metafile.inputs)
    .map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1])
    .filter(Boolean),
);
if (problems.length > 0) {
  console.error('check:platform: the platform-only exports need Node:');
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
const bytes = result.outputFiles[0].contents.byteLength;
console.log(
  `check:platform: mortar, mortar/hello, mortar/session, mortar/urlmap, mortar/proxy-fix, mortar/body-limit, mortar/access-log, mortar/compress, mortar/csrf, mortar/proxy, mortar/websocket bundle for --platform=neutral (${Math.round(bytes / 1024)} KiB; packages: ${[...packages].join(', ') || 'none'})`,
);
