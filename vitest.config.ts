import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The Node under test is the one running vitest: put it first on PATH, so that what the suite
// runs by name — npm (which runs on the first node on PATH), `npm start`'s `node`, a
// `#!/usr/bin/env node` bin — runs on it too, not on whichever Node PATH held before
// (`~/node-24/bin/node node_modules/vitest/vitest.mjs run` on a machine whose node is 20).
// The forked test workers inherit it.
process.env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // CI runs the suite four times on a machine that is fresh as often as not: the first run
    // pays every cold start (Chromium, Deno's and workerd's first compile, a service's first
    // start). A test that fails once is run once more there, and still fails if it fails again.
    retry: process.env.CI ? 1 : 0,
  },
});
