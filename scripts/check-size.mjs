#!/usr/bin/env node
// Part of `npm run check`: no source file over 400 lines and no function over 60 (DESIGN.md
// §2: past that it is two ideas). Reads src/ and middleware/ with the TypeScript parser.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const MAX_FILE = 400;
const MAX_FUNCTION = 60;

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

const problems = [];
for (const file of [
  ...sources(path.join(root, 'src')),
  ...sources(path.join(root, 'middleware')),
]) {
  const text = readFileSync(file, 'utf8');
  const shown = path.relative(root, file);
  const lines = text.split('\n').length;
  if (lines > MAX_FILE) problems.push(`${shown}: ${lines} lines (at most ${MAX_FILE})`);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      if (end - start + 1 > MAX_FUNCTION) {
        const name = node.name?.getText(source) ?? '(anonymous)';
        problems.push(
          `${shown}:${start + 1} ${name}: ${end - start + 1} lines (at most ${MAX_FUNCTION})`,
        );
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
if (problems.length) {
  console.error('check:size: split these, or say in a comment why not:');
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
console.log(`check:size: no file over ${MAX_FILE} lines, no function over ${MAX_FUNCTION}`);
