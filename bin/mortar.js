#!/usr/bin/env node
// The `mortar` command. From a checkout it runs mortar's TypeScript sources through tsx's
// loaders (a devDependency there), registered here: the ESM one, and the CommonJS one for
// `.ts` files in a folder without `"type": "module"`. An installed mortar runs its built
// JavaScript and loads no loader here: tsx, a devDependency of the project, is registered by
// `mortar serve` for an application written in TypeScript (cli/load.ts), so a JavaScript
// one (`app.js`, a built project) starts without it — what makes one CGI request a process
// start and little more.
//
// On Node 22.1 and later the command turns on Node's module compile cache first: the code of
// every module it loads after this line (mortar's, its dependencies', the application's) is
// kept compiled on disk and reused by the next start — a CGI request is a start. The folder
// is NODE_COMPILE_CACHE, else node-compile-cache in the temporary folder; it is Node's own
// cache, keyed by each file's content and the Node version, and NODE_DISABLE_COMPILE_CACHE=1
// turns it off. Older Nodes have no such cache and start as before. On a machine shared between
// users, give the service's user a NODE_COMPILE_CACHE of its own: any user can create the
// temporary folder's first.
import { existsSync } from 'node:fs';
import module from 'node:module';

module.enableCompileCache?.();

const source = new URL('../cli/main.ts', import.meta.url);
const fromSource = existsSync(source);

if (fromSource) {
  const loaders = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).catch(
    (error) => {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      process.stderr.write(
        'mortar: running mortar from its TypeScript sources needs tsx, a devDependency: npm install\n',
      );
      process.exit(1);
    },
  );
  for (const loader of loaders) loader.register();
}
const { main } = await import(fromSource ? source.href : '../dist/cli/main.js');
const code = await main(process.argv.slice(2));
process.exit(code);
