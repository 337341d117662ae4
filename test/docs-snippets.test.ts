/**
 * Every ```ts block of README.md and docs/*.md type-checks against mortar as a user imports
 * it (`mortar`, `mortar/session` … resolved through package.json's exports to the sources).
 * The README is a tour: a block may use what an earlier one built (`application`, `site`,
 * `poweredBy` …); those names are declared for it, unless the block declares them itself.
 * `test/docs-run.test.ts` runs them.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlocks, declares, exportSources, root, TOUR, uses } from './helpers/doc-blocks.js';

const work = path.join(root, '.tmp', 'doc-snippets');

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the code in README.md and docs/', () => {
  const all = codeBlocks();

  it('has code blocks to check', () => {
    expect(all.length).toBeGreaterThan(10);
  });

  it('type-checks, block by block', () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const files = all.map((snippet, index) => {
      const prelude = Object.entries(TOUR)
        .filter(([name]) => uses(snippet.code, name) && !declares(snippet.code, name))
        .map(([, declaration]) => declaration);
      const file = path.join(work, `${index}.ts`);
      // A module of its own (export {}), so blocks do not see each other's names.
      writeFileSync(file, `${prelude.join('\n')}\n${snippet.code}\nexport {};\n`);
      return { file, snippet, preludeLines: prelude.length + 1 };
    });
    const program = ts.createProgram(
      files.map((f) => f.file),
      {
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
      },
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
    expect(problems).toEqual([]);
  }, 60_000);
});
