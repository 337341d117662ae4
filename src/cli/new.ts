/**
 * `mortar new NAME`: a project in a new folder, the seeds' `startproject` — an `application`
 * every gateway can load, settings read from the environment once, tests, and the front-end
 * configurations of docs/deploy.md. The files are the templates under `./templates/`
 * (`{{name}}`, `{{slug}}` and the version pins filled in).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import validateName from 'validate-npm-package-name';
import { UsageError } from './args.js';

export const NEW_HELP = `Usage: mortar new NAME [--template full|minimal]

Writes a project into the folder NAME (which must not exist, or be empty):

  full (default)  package.json (start, dev, test, check, build), tsconfig.json, README.md,
                  src/app.ts (compose: errors()/debug(), session, static under /static, a
                  urlmap with a home page), src/settings.ts (the environment, read once; .env
                  in development), test/app.test.ts (TestClient), public/, deploy/ (nginx
                  proxy and FastCGI, lighttpd, systemd)
  minimal         package.json and app.ts

Then: cd NAME && npm install && npm start
`;

/** The names a template's files get: templates cannot hold dotfiles under npm's `files`. */
const RENAMED: Record<string, string> = { gitignore: '.gitignore', 'env.example': '.env.example' };

/**
 * Runs `mortar new`.
 * @returns The exit code.
 * @throws UsageError for a bad name, a non-empty folder or an unknown template.
 */
export function newCommand(argv: readonly string[], cwd = process.cwd()): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (try mortar new --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(NEW_HELP);
    return 0;
  }
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0)
    throw new UsageError('usage: mortar new NAME (try mortar new --help)');
  const template = values.template ?? 'full';
  if (template !== 'full' && template !== 'minimal') {
    throw new UsageError(`--template must be full or minimal, got "${template}"`);
  }
  const verdict = validateName(name);
  if (!verdict.validForNewPackages) {
    const why = [...(verdict.errors ?? []), ...(verdict.warnings ?? [])].join('; ');
    throw new UsageError(`"${name}" is not a name npm accepts: ${why}`);
  }
  const slug = name.replace(/^@[^/]+\//, '');
  const target = path.resolve(cwd, slug);
  if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0)) {
    throw new UsageError(`${target} exists and is not an empty folder`);
  }
  const filled = { name, slug, ...versions() };
  const written = writeTemplate(path.join(templatesDir(), template), target, filled);
  process.stdout.write(
    `mortar: wrote ${written} files to ${target}\n\n  cd ${slug}\n  npm install\n  npm start\n`,
  );
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { template: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}

/** Copies `from` into `to`, filling in `values`; returns how many files it wrote. */
function writeTemplate(from: string, to: string, values: Record<string, string>): number {
  let count = 0;
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) {
      count += writeTemplate(source, path.join(to, entry.name), values);
      continue;
    }
    const base = entry.name.replace(/\.tmpl$/, '');
    const text = readFileSync(source, 'utf8').replace(/\{\{(\w+)\}\}/g, (whole, key: string) =>
      Object.hasOwn(values, key) ? values[key]! : whole,
    );
    mkdirSync(to, { recursive: true });
    writeFileSync(path.join(to, RENAMED[base] ?? base), text);
    count++;
  }
  return count;
}

/** The templates folder, beside this module in the sources and in dist alike. */
function templatesDir(): string {
  return fileURLToPath(new URL('./templates', import.meta.url));
}

/**
 * The versions the project pins: mortar's own (`^x.y.z`), and the TypeScript, vitest and
 * Node types mortar is tested with (its package.json's devDependencies).
 */
function versions(): Record<string, string> {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: string;
        version: string;
        devDependencies?: Record<string, string>;
      };
      if (pkg.name === 'mortar') {
        const dev = pkg.devDependencies ?? {};
        return {
          mortarVersion: `^${pkg.version}`,
          typescriptVersion: dev.typescript ?? '^5.9.0',
          vitestVersion: dev.vitest ?? '^4.0.0',
          typesNodeVersion: dev['@types/node'] ?? '^20.0.0',
        };
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("mortar new: cannot find mortar's package.json");
    dir = parent;
  }
}
