#!/usr/bin/env node
// The `mortar` command. TypeScript loading (for the applications it serves, and for mortar's
// own sources in a checkout) goes through tsx's loaders, registered here when needed: the ESM
// one, and the CommonJS one for `.ts` files in a folder without `"type": "module"`. An
// installed mortar serving a JavaScript application (`app.js`, `app.mjs`) skips them — what
// makes one CGI request a process start and little more.
import { existsSync } from 'node:fs';

const args = process.argv.slice(2);
const source = new URL('../src/cli/main.ts', import.meta.url);
const fromSource = existsSync(source);

/** Whether the named application (argument or MORTAR_APP) is JavaScript, needing no loader. */
function javaScriptApplication() {
  const spec = args.slice(1).find((arg) => !arg.startsWith('-')) ?? process.env.MORTAR_APP;
  if (!spec) return false;
  const colon = spec.lastIndexOf(':');
  const module = colon > 1 ? spec.slice(0, colon) : spec;
  return /\.[cm]?js$/.test(module);
}

if (fromSource || !javaScriptApplication()) {
  const [esm, commonJS] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  commonJS.register();
}
const { main } = await import(fromSource ? source.href : '../dist/src/cli/main.js');
const code = await main(args);
process.exit(code);
