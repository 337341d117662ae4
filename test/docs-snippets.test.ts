/**
 * Every ```ts block of README.md and docs/*.md, and of the TSDoc of the package entries (what
 * a hover and the API reference show), type-checks against mortar as a user imports it
 * (`mortar`, `mortar/session` … resolved through package.json's exports to the sources).
 * The README is a tour: a block may use what an earlier one built (`application`, `site`,
 * `poweredBy` …); those names are declared for it, unless the block declares them itself. A
 * TSDoc block may use its own entry's exports without importing them (`debug({ … })` in
 * debug()'s comment). `test/docs-run.test.ts` runs the README's.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CodeBlock,
  codeBlocks,
  declares,
  exportSources,
  root,
  TOUR,
  tsdocBlocks,
  uses,
} from './helpers/doc-blocks.js';

const work = path.join(root, '.tmp', 'doc-snippets');

afterAll(() => rmSync(work, { recursive: true, force: true }));

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: ['node'],
  typeRoots: [path.join(root, 'node_modules/@types')],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  allowImportingTsExtensions: true,
  baseUrl: root,
  paths: Object.fromEntries(
    Object.entries(exportSources()).map(([name, source]) => [name, [source]]),
  ),
};

/** The tour's names a block uses and does not declare, declared for it. */
const tourPrelude = (code: string): string[] =>
  Object.entries(TOUR)
    .filter(([name]) => uses(code, name) && !declares(code, name))
    .map(([, declaration]) => declaration);

/**
 * Type-checks each block as a module of its own (export {}), so blocks do not see each other's
 * names, after the lines `prelude` gives it. @returns `file:line: message` per problem.
 */
function typeCheck(
  folder: string,
  blocks: readonly CodeBlock[],
  prelude: (block: CodeBlock) => string[],
): string[] {
  const dir = path.join(work, folder);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = blocks.map((snippet, index) => {
    const lines = prelude(snippet);
    const file = path.join(dir, `${index}.ts`);
    writeFileSync(file, `${lines.join('\n')}\n${snippet.code}\nexport {};\n`);
    return { file, snippet, preludeLines: lines.length + 1 };
  });
  const program = ts.createProgram(
    files.map((f) => f.file),
    options,
  );
  const problems: string[] = [];
  for (const { file, snippet, preludeLines } of files) {
    const source = program.getSourceFile(file);
    for (const diagnostic of ts.getPreEmitDiagnostics(program, source)) {
      const { line } = source!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      problems.push(`${snippet.file}:${snippet.line + line - preludeLines}: ${message}`);
    }
  }
  return problems;
}

/** Names TSDoc examples take as given: the application wrapped, and the session secret. */
const TSDOC_NAMES: Record<string, string> = {
  app: "declare const app: import('mortar').Application;",
  secret: 'declare const secret: string;',
  Bun: 'declare const Bun: { serve(options: object): unknown };',
};

/** The names each package entry exports (`mortar/session` → session, getSession, …). */
function entryExports(): Map<string, string[]> {
  const sources = exportSources();
  const program = ts.createProgram(Object.values(sources), options);
  const checker = program.getTypeChecker();
  const names = new Map<string, string[]>();
  for (const [entry, source] of Object.entries(sources)) {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(source)!);
    names.set(entry, symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : []);
  }
  return names;
}

describe('the code in README.md and docs/', () => {
  const all = codeBlocks();

  it('has code blocks to check', () => {
    expect(all.length).toBeGreaterThan(10);
  });

  it('type-checks, block by block', () => {
    expect(typeCheck('docs', all, (block) => tourPrelude(block.code))).toEqual([]);
  }, 60_000);
});

describe('the code in the TSDoc of the package entries', () => {
  const all = tsdocBlocks();

  it('has code blocks to check, from most entries', () => {
    expect(all.length).toBeGreaterThan(20);
    expect(new Set(all.map((block) => block.entry)).size).toBeGreaterThan(12);
  });

  it('type-checks, block by block', () => {
    const exported = entryExports();
    const problems = typeCheck('tsdoc', all, (block) => {
      const { entry, code } = block as CodeBlock & { entry: string };
      const own = (exported.get(entry) ?? []).filter(
        (name) => uses(code, name) && !declares(code, name),
      );
      const imports = own.length > 0 ? [`import { ${own.join(', ')} } from '${entry}';`] : [];
      const assumed = Object.entries(TSDOC_NAMES)
        .filter(([name]) => uses(code, name) && !declares(code, name) && !own.includes(name))
        .map(([, declaration]) => declaration);
      return [...imports, ...tourPrelude(code), ...assumed];
    });
    expect(problems).toEqual([]);
  }, 120_000);
});
