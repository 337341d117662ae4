#!/usr/bin/env node
// The `mortar` command. TypeScript loading (for the applications it serves, and for mortar's
// own sources in a checkout) goes through tsx's loaders, registered once here: the ESM one,
// and the CommonJS one for `.ts` files in a folder without `"type": "module"`.
import { existsSync } from 'node:fs';
import { register as registerCommonJS } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

register();
registerCommonJS();
const source = new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : '../dist/src/cli/main.js');
const code = await main(process.argv.slice(2));
process.exit(code);
