#!/usr/bin/env node
// Part of `npm run build`: the files that are not TypeScript but ship beside the compiled
// modules (the debugger page's stylesheet and script, read at run time next to render.js).
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const assets = ['middleware/debug/page.css', 'middleware/debug/page.js'];
for (const asset of assets) {
  const target = path.join(root, 'dist', asset);
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(path.join(root, asset), target);
}
console.log(`copied ${assets.length} assets to dist/`);
