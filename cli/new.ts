/**
 * `mortar new PATH`: a project in a new folder, the seeds' `startproject` — an `application`
 * every gateway can load, settings read from the environment once (a random session secret in
 * a git-ignored `.env`), tests, and front-end configurations with the README that explains
 * them. The files are the templates under `./templates/` (`{{name}}`, `{{slug}}`, the secret
 * and the version pins filled in); mortar itself is named as new-dependency.ts decides.
 */
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import validateName from 'validate-npm-package-name';
import { UsageError } from './args.js';
import { fromRegistry, type OwnPackage, ownPackage, packOwnPackage } from './new-dependency.js';

export const NEW_HELP = `Usage: mortar new PATH [--template full|minimal] [--mortar SPEC]

Writes a project into the folder PATH (which must not exist, or be empty), named after its
last segment (an @scope/name makes the folder name):

  full (default)  package.json (start, dev, test, check, build), tsconfig.json, README.md,
                  src/app.ts (compose: errors()/debug(), session, static under /static, a
                  urlmap with a home page), src/settings.ts (the environment, read once; .env
                  in development, holding a random SESSION_SECRET), test/app.test.ts
                  (TestClient), public/, deploy/ (nginx proxy and FastCGI, lighttpd, systemd)
  minimal         package.json and app.ts

The project depends on mortar by version when this mortar came from the npm registry;
otherwise (a clone, a tarball) mortar is packed into the project's vendor/ and named by
that file. --mortar SPEC names it instead: a path to a tarball (copied to vendor/), or any
npm spec, written as given.

Then: cd PATH && npm install && npm start
`;

/**
 * The names a template's files get: templates cannot hold dotfiles under npm's `files`
 * (and `.env` is git-ignored in mortar's own checkout too).
 */
const RENAMED: Record<string, string> = {
  gitignore: '.gitignore',
  'env.example': '.env.example',
  env: '.env',
};

/**
 * Runs `mortar new`.
 * @returns The exit code: 0, or 1 when mortar could not be packed for the project (the
 *   project is then not written).
 * @throws UsageError for a bad name, a non-empty folder, an unknown template or a
 *   `--mortar` tarball that does not exist.
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
  const [where, ...extra] = positionals;
  if (!where || extra.length > 0)
    throw new UsageError('usage: mortar new PATH (try mortar new --help)');
  const template = values.template ?? 'full';
  if (template !== 'full' && template !== 'minimal') {
    throw new UsageError(`--template must be full or minimal, got "${template}"`);
  }
  const { name, slug, target } = destination(where, cwd);
  const own = ownPackage();
  let dependency: Dependency;
  try {
    dependency = mortarDependency(values.mortar, own, cwd);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  const filled = {
    name,
    slug,
    mortarVersion: dependency.spec,
    mortarSource: dependency.source,
    sessionSecret: randomBytes(32).toString('base64url'),
    typescriptVersion: own.devDependencies.typescript ?? '^5.9.0',
    vitestVersion: own.devDependencies.vitest ?? '^4.0.0',
    typesNodeVersion: own.devDependencies['@types/node'] ?? '^20.0.0',
    ioredisVersion: own.devDependencies.ioredis ?? '^5.0.0',
  };
  let written = writeTemplate(path.join(templatesDir(), template), target, filled);
  if (dependency.tarball) {
    mkdirSync(path.join(target, 'vendor'));
    copyFileSync(dependency.tarball, path.join(target, dependency.spec.slice('file:'.length)));
    if (dependency.packed) rmSync(path.dirname(dependency.tarball), { recursive: true });
    written++;
  }
  if (dependency.said) process.stdout.write(`mortar: ${dependency.said}\n`);
  const shown = path.relative(cwd, target) || '.';
  process.stdout.write(
    `mortar: wrote ${written} files to ${target}\n\n  cd ${shown}\n  npm install\n  npm start\n`,
  );
  return 0;
}

/**
 * The project's folder and package name: `@scope/name` makes the folder `name`; anything
 * else is a path whose last segment is the name.
 * @throws UsageError for a name npm refuses or a folder that is not empty.
 */
function destination(where: string, cwd: string) {
  const scoped = /^@[^/]+\/[^/]+$/.test(where);
  const target = path.resolve(cwd, scoped ? where.replace(/^@[^/]+\//, '') : where);
  const name = scoped ? where : path.basename(target);
  const verdict = validateName(name);
  if (!verdict.validForNewPackages) {
    const why = [...(verdict.errors ?? []), ...(verdict.warnings ?? [])].join('; ');
    throw new UsageError(`"${name}" is not a name npm accepts: ${why}`);
  }
  if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0)) {
    throw new UsageError(`${target} exists and is not an empty folder`);
  }
  return { name, slug: name.replace(/^@[^/]+\//, ''), target };
}

/** How the project's package.json names mortar, and the tarball to put in its vendor/. */
interface Dependency {
  spec: string;
  /** A sentence for the project's README: where mortar comes from. */
  source: string;
  /** The tarball to copy to the spec's `vendor/` path. */
  tarball?: string;
  /** Whether the tarball was packed here (its temporary folder goes after the copy). */
  packed?: boolean;
  /** The line `mortar new` prints about it. */
  said?: string;
}

/**
 * `--mortar` (a tarball path, else a spec written as given), else `^version` when this mortar
 * came from the npm registry, else this mortar packed.
 */
function mortarDependency(option: string | undefined, own: OwnPackage, cwd: string): Dependency {
  const vendored = (tarball: string, how: string): Dependency => {
    const spec = `file:vendor/${path.basename(tarball)}`;
    const file = spec.slice('file:'.length);
    return {
      spec,
      tarball,
      packed: how.startsWith('packed'),
      source: `mortar itself comes from \`${file}\`, a tarball \`mortar new\` took from a mortar not installed from the npm registry: keep it with the project (\`npm install\` reads it).`,
      said: `package.json depends on "${spec}" (${how})`,
    };
  };
  if (option !== undefined) {
    if (!/\.tgz$/.test(option)) {
      return {
        spec: option,
        source: `mortar itself comes from \`${option}\` (\`mortar new --mortar\`).`,
      };
    }
    const tarball = path.resolve(cwd, option);
    if (!existsSync(tarball)) throw new UsageError(`--mortar: no tarball at ${tarball}`);
    return vendored(tarball, 'the tarball given to mortar new --mortar');
  }
  if (fromRegistry(own.dir)) {
    return { spec: `^${own.version}`, source: 'mortar itself comes from the npm registry.' };
  }
  return vendored(
    packOwnPackage(own.dir),
    `packed by mortar new from ${own.dir}, which is not installed from the npm registry`,
  );
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      template: { type: 'string' },
      mortar: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
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
