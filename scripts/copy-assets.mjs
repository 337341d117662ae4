#!/usr/bin/env node
// Part of `npm run build`: the files that are not TypeScript but ship beside the compiled
// modules (the debugger page's stylesheet and script, read at run time next to render.js;
// the project templates of `mortar new`).
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const assets = [
  'middleware/_shared/page.css',
  'middleware/debug/page.js',
  'middleware/block-watch/watcher.js',
  'middleware/profile/page.css',
  'middleware/profile/page.js',
];
for (const asset of assets) {
  const target = path.join(root, 'dist', asset);
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(path.join(root, asset), target);
}
// `mortar new`'s project templates, read beside cli/new.js.
cpSync(path.join(root, 'cli/templates'), path.join(root, 'dist/cli/templates'), {
  recursive: true,
});
console.log(`copied ${assets.length} assets and the project templates to dist/`);
