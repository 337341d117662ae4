/**
 * The ```ts blocks of README.md and docs/*.md, as `test/docs-snippets.test.ts` type-checks
 * them and `test/docs-run.test.ts` runs them. The README is a tour: a block may use a name an
 * earlier block made (`application`, `site`, `poweredBy`) or one the prose assumes (`admin`,
 * `expressApp`, `Deno`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** One ```ts block: where it is and its code. */
export interface CodeBlock {
  file: string;
  /** The line of the block's first line of code, from 1. */
  line: number;
  code: string;
}

/** The names the tour uses across blocks, with the type a block that uses one sees. */
export const TOUR: Record<string, string> = {
  application: "declare const application: import('mortar').Application;",
  site: "declare const site: import('mortar').Application;",
  admin: "declare const admin: import('mortar').Application;",
  poweredBy: "declare const poweredBy: import('mortar').Middleware;",
  expressApp: "declare const expressApp: import('express').Express;",
  Deno: 'declare const Deno: { serve(handler: (request: Request) => Promise<Response>): unknown };',
};

/** Every ```ts (or ```typescript) block of README.md and docs/*.md, in reading order. */
export function codeBlocks(): CodeBlock[] {
  const files = [
    'README.md',
    ...readdirSync(path.join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  return files.flatMap((file) => fencedBlocks(file, ['ts', 'typescript']));
}

/** The fenced blocks of `file` (relative to the root) whose info string is one of `languages`. */
export function fencedBlocks(file: string, languages: readonly string[]): CodeBlock[] {
  const found: CodeBlock[] = [];
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const info = /^```(\w+)\s*$/.exec(lines[i]!)?.[1];
    if (info === undefined || !languages.includes(info)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    found.push({ file, line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return found;
}

/**
 * Every ```ts block in the TSDoc of the package entries (package.json "exports") and of the
 * files an entry re-exports from, with the entry (`mortar/session`) whose names it may use.
 */
export function tsdocBlocks(): (CodeBlock & { entry: string })[] {
  const found: (CodeBlock & { entry: string })[] = [];
  const seen = new Set<string>();
  for (const [entry, source] of Object.entries(exportSources())) {
    const text = readFileSync(source, 'utf8');
    const reexported = [...text.matchAll(/from '(\.\/[^']+)\.js'/g)].map((m) =>
      path.join(path.dirname(source), `${m[1]}.ts`),
    );
    for (const file of [source, ...reexported]) {
      if (seen.has(file)) continue;
      seen.add(file);
      const relative = path.relative(root, file);
      for (const block of commentBlocks(readFileSync(file, 'utf8'))) {
        found.push({ ...block, file: relative, entry });
      }
    }
  }
  return found;
}

/** The ```ts blocks inside `/** … *\/` comments of `text`, their ` * ` margins taken off. */
function commentBlocks(text: string): Omit<CodeBlock, 'file'>[] {
  const found: Omit<CodeBlock, 'file'>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\* ```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*\* ```/.test(lines[end]!)) end++;
    const code = lines.slice(start, end).map((line) => line.replace(/^\s*\*( |$)/, ''));
    found.push({ line: start + 1, code: code.join('\n') });
    i = end;
  }
  return found;
}

/** Whether `code` declares or imports `name` itself. */
export function declares(code: string, name: string): boolean {
  return new RegExp(
    `(?:(?:const|let|var|function|class)\\s+${name}\\b|import[^;]*\\b${name}\\b)`,
  ).test(code);
}

/** Whether `code` uses `name` (as a word). */
export const uses = (code: string, name: string): boolean => new RegExp(`\\b${name}\\b`).test(code);

/** `mortar` and `mortar/x` → the source file package.json's export is built from. */
export function exportSources(): Record<string, string> {
  const { exports } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { default: string } | string>;
  };
  const sources: Record<string, string> = {};
  for (const [key, target] of Object.entries(exports)) {
    if (typeof target === 'string') continue;
    const source = target.default.replace(/^\.\/dist\//, './').replace(/\.js$/, '.ts');
    sources[key === '.' ? 'mortar' : `mortar/${key.slice(2)}`] = path.join(root, source);
  }
  return sources;
}
