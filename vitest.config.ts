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
  },
});
