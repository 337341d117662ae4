/**
 * Every ```ts block of README.md and docs/*.md type-checks against mortar as a user imports
 * it (`mortar`, `mortar/session` … resolved through package.json's exports to the sources).
 * The README is a tour: a block may use what an earlier one built (`application`, `site`,
 * `poweredBy` …); those names are declared for it, unless the block declares them itself.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = path.join(root, '.tmp', 'doc-snippets');

/** What the tour builds before a block uses it. */
const TOUR: Record<string, string> = {
  application: "declare const application: import('mortar').Application;",
  site: "declare const site: import('mortar').Application;",
  admin: "declare const admin: import('mortar').Application;",
  poweredBy: "declare const poweredBy: import('mortar').Middleware;",
  id: 'declare const id: string;',
  expressApp: "declare const expressApp: import('express').Express;",
  Deno: 'declare const Deno: { serve(handler: (request: Request) => Promise<Response>): unknown };',
};

interface Snippet {
  file: string;
  line: number;
  code: string;
}

function snippets(): Snippet[] {
  const files = [
    'README.md',
    ...readdirSync(path.join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const found: Snippet[] = [];
  for (const file of files) {
    const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && !lines[end]!.startsWith('```')) end++;
      found.push({ file, line: start + 1, code: lines.slice(start, end).join('\n') });
      i = end;
    }
  }
  return found;
}

/** `mortar` and `mortar/x` → the source file its export is built from. */
function exportPaths(): Record<string, string[]> {
  const { exports } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { default: string } | string>;
  };
  const paths: Record<string, string[]> = {};
  for (const [key, target] of Object.entries(exports)) {
    if (typeof target === 'string') continue;
    const source = target.default.replace(/^\.\/dist\//, './').replace(/\.js$/, '.ts');
    paths[key === '.' ? 'mortar' : `mortar/${key.slice(2)}`] = [path.join(root, source)];
  }
  return paths;
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the code in README.md and docs/', () => {
  const all = snippets();

  it('has code blocks to check', () => {
    expect(all.length).toBeGreaterThan(10);
  });

  it('type-checks, block by block', () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const files = all.map((snippet, index) => {
      const declared = (name: string) =>
        new RegExp(
          `(?:(?:const|let|var|function|class)\\s+${name}\\b|import[^;]*\\b${name}\\b)`,
        ).test(snippet.code);
      const prelude = Object.entries(TOUR)
        .filter(([name, _]) => new RegExp(`\\b${name}\\b`).test(snippet.code) && !declared(name))
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
        paths: exportPaths(),
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
