#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
// Part of `npm run check`: the layout's import rules (README › Layout), read from the code.
//
//   1. Nothing outside src/gateways/ imports src/gateways/_* (the gateways' private floor).
//   2. Nothing under src/ imports middleware/ or cli/ (the contract sits below them).
//   3. A middleware imports another only through a package entry (`mortar/session`, …) —
//      what they share lives in middleware/_shared/, which imports no middleware.
//   4. src/_internal/ imports only the web platform: mortar's own src/ root and itself, and
//      `node:` modules for types only.
//   5. No circle in the import graph, type-only imports included.
//
// Shipped code only (cli/, src/, middleware/, bin/); tests may reach anything they test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// The repository to check: this one, or the folder given as the first argument (a git work tree).
const root = process.argv[2]
  ? path.resolve(process.argv[2])
  : path.dirname(path.dirname(new URL(import.meta.url).pathname));
const files = execFileSync('git', ['ls-files', 'cli', 'src', 'middleware', 'bin'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((file) => /\.(ts|js|mjs)$/.test(file) && !file.endsWith('.d.ts'))
  .filter((file) => !/^middleware\/(debug|profile)\/page\.js$/.test(file));

const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
/** Files that are package entries: `dist/x/index.js` in `exports` is `x/index.ts` here. */
const entries = new Set(
  Object.values(manifest.exports)
    .map((target) => (typeof target === 'string' ? target : target.default))
    .filter((target) => target.startsWith('./dist/'))
    .map((target) => target.slice('./dist/'.length).replace(/\.js$/, '.ts')),
);

/** Every import of `file`: `{ spec, target (repo path or undefined), typeOnly }`. */
function importsOf(file) {
  const text = readFileSync(path.join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const found = [];
  const add = (spec, typeOnly) => {
    let target;
    if (spec.startsWith('.')) {
      target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      target = target.replace(/\.js$/, '.ts');
      if (!files.includes(target)) target = target.replace(/\.ts$/, '.js');
    }
    found.push({ spec, target, typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause?.isTypeOnly ||
        (clause !== undefined &&
          clause.name === undefined &&
          clause.namedBindings !== undefined &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((element) => element.isTypeOnly));
      add(node.moduleSpecifier.text, Boolean(typeOnly));
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) add(literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const middlewareOf = (file) => /^middleware\/([^/]+)\//.exec(file)?.[1];
const problems = [];
const graph = new Map();

for (const file of files) {
  const imports = importsOf(file);
  graph.set(
    file,
    imports.filter((i) => i.target).map((i) => i.target),
  );
  for (const { spec, target, typeOnly } of imports) {
    const say = (rule) => problems.push(`${file}: imports ${spec} — ${rule}`);
    if (target?.startsWith('src/gateways/_') && !file.startsWith('src/gateways/')) {
      say("src/gateways/_* is the gateways' own; share it from src/_internal/ instead");
    }
    if (file.startsWith('src/') && target && /^(middleware|cli)\//.test(target)) {
      say('src/ never imports middleware/ or cli/');
    }
    const from = middlewareOf(file);
    const to = target && middlewareOf(target);
    if (from && to && from !== to && to !== '_shared' && !entries.has(target)) {
      say(
        from === '_shared'
          ? 'middleware/_shared/ imports no middleware'
          : `another middleware only through its package entry (${[...entries].filter((e) => middlewareOf(e) === to).join(', ')})`,
      );
    }
    if (from === '_shared' && to && to !== '_shared')
      say('middleware/_shared/ imports no middleware');
    if (file.startsWith('src/_internal/')) {
      const own = target && /^src\/[^/]+\.ts$|^src\/_internal\//.test(target);
      const nodeType = spec.startsWith('node:') && typeOnly;
      if (!own && !nodeType) say('src/_internal/ imports only the web platform and src/');
    }
  }
}

// Circles: a depth-first walk that reports each back edge's cycle once.
const state = new Map();
const seen = new Set();
const stack = [];
function walk(file) {
  state.set(file, 'open');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    if (state.get(next) === 'open') {
      const cycle = stack.slice(stack.indexOf(next));
      const key = [...cycle].sort().join(' ');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import circle: ${[...cycle, next].join(' → ')}`);
      }
    } else if (!state.has(next)) walk(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) walk(file);

if (problems.length) {
  console.error(`check:imports: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check:imports: ${files.length} files keep the layout's import rules, no circle`);
