#!/usr/bin/env node
// The `mortar` command. TypeScript loading (for the applications it serves, and for mortar's
// own sources in a checkout) goes through tsx's loader, registered once here.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const source = new URL('../src/cli.ts', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : '../dist/src/cli.js');
const code = await main(process.argv.slice(2));
process.exit(code);
