/**
 * What `mortar serve` prints when the application's module fails while it loads: a
 * configuration error is one line at the user's own line (exit 1), a bug its stack without
 * the command's frames, and `--verbose` / `DEBUG=mortar` add the stack to the one line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { root, run } from './cli-run.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mortar-cli-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
const source = (file: string) => pathToFileURL(path.join(root, file)).href;

/** Writes `name` in the temporary project, importing mortar's session and hello. */
function app(name: string, body: string): string {
  writeFileSync(
    path.join(dir, name),
    `import { session } from '${source('middleware/session/index.ts')}';
import { helloWorld } from '${source('middleware/hello/index.ts')}';

${body}
`,
  );
  return name;
}

async function fails(args: string[], env: Record<string, string> = {}) {
  const started = run(['serve', ...args, '--port', '0'], { cwd: dir, env: { DEBUG: '', ...env } });
  return { code: await started.exit, output: started.output() };
}

describe('mortar serve: a configuration error is one line at the user’s call, exit 1', () => {
  it.each([
    [
      'an unknown option',
      app(
        'typo.ts',
        "export const application = session({ secert: 'x'.repeat(40) } as never)(helloWorld());",
      ),
      'typo.ts:4:28: session: unknown option "secert" — did you mean "secret"?',
    ],
    [
      'a missing secret',
      app(
        'secret.ts',
        'const settings = {};\nexport const application =\n  session(settings as never)(helloWorld());',
      ),
      'secret.ts:6:3: session: option "secret" is required (a string of 32 or more characters, or { 1: old, 2: new })',
    ],
    [
      'a bad value',
      app(
        'value.ts',
        "export const application = session({ secret: 'x'.repeat(40), idleTimeout: 3_600_000 })(helloWorld());",
      ),
      'value.ts:4:28: session: option "idleTimeout" is in seconds; 3600000 looks like milliseconds (3600 s?). Cookies last at most 400 days (34560000 s)',
    ],
    [
      'an import of a package that is not installed',
      app(
        'package.ts',
        "import { x } from 'no-such-package';\nexport const application = () => new Response(String(x));",
      ),
      "package.ts:4:19: Cannot find package 'no-such-package'",
    ],
    [
      'an import of a name the module does not export',
      app(
        'export.ts',
        "import { nosuch } from './typo.ts';\nexport const application = () => new Response(String(nosuch));",
      ),
      "export.ts:4:10: The requested module './typo.ts' does not provide an export named 'nosuch'",
    ],
  ])('%s', async (_, file, line) => {
    const { code, output } = await fails([file]);
    expect(output).toBe(`${line}\n`);
    expect(code).toBe(1);
  });

  it('shows the stack too under --verbose or DEBUG=mortar', async () => {
    for (const [args, env] of [
      [['typo.ts', '--verbose'], {}],
      [['typo.ts'], { DEBUG: 'express:*,mortar' }],
    ] as const) {
      const { code, output } = await fails([...args], env);
      expect(code).toBe(1);
      expect(output).toMatch(/^typo\.ts:4:28: session: unknown option "secert"/);
      expect(output).toMatch(/ConfigError: session: unknown option[^\n]*\n\s+at unknownOption /);
    }
  });
});

describe('mortar serve: an error that is not configuration shows its stack', () => {
  it('with the module’s frames and without the command’s, exit 1', async () => {
    writeFileSync(
      path.join(dir, 'bug.ts'),
      "function helper(): never {\n  throw new Error('this module fails while it loads');\n}\nhelper();\n",
    );
    const { code, output } = await fails(['bug.ts']);
    expect(code).toBe(1);
    expect(output).toMatch(
      /^Error: this module fails while it loads\n\s+at helper \(.*bug\.ts:2:9\)\n/,
    );
    expect(output).toContain('bug.ts:4:1');
    expect(output).not.toMatch(/src\/cli|bin\/mortar\.js|node:internal\/modules/);
  });

  it('keeps exit 2 and one "mortar:" line for a usage error of the command', async () => {
    const { code, output } = await fails(['nothing-here.ts']);
    expect(code).toBe(2);
    expect(output).toBe(`mortar: cannot find module "nothing-here.ts" (looked from ${dir})\n`);
  });
});
