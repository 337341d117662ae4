/**
 * A folder of files for the static tests, made fresh in a temporary directory, with a
 * sibling folder outside the root that nothing may ever serve.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

export const SECRET = 'OUTSIDE-THE-ROOT-SECRET';
export const MTIME = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

export interface Fixture {
  base: string;
  root: string;
  outside: string;
  big: Buffer;
  medium: Buffer;
  css: string;
  remove(): void;
}

export function makeFixture(): Fixture {
  const base = mkdtempSync(path.join(tmpdir(), 'mortar-static-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  const write = (name: string, content: string | Buffer): void => {
    const file = path.join(root, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    utimesSync(file, MTIME, MTIME);
  };
  writeFileSync(path.join(outside, 'secret.txt'), SECRET);
  const css = `body { color: #333; }\n${'/* padding */\n'.repeat(40)}`;
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const medium = randomBytes(300 * 1024);
  write('hello.txt', 'Hello, static!\n');
  write('index.html', '<h1>root index</h1>\n');
  write('empty.txt', '');
  write('big.bin', big);
  write('medium.bin', medium);
  write('style.css', css);
  write('style.css.br', brotliCompressSync(css));
  write('style.css.gz', gzipSync(css));
  write('only-gz.js', 'console.log(1);\n');
  write('only-gz.js.gz', gzipSync('console.log(1);\n'));
  write('café menu.txt', 'menu\n');
  write('sub/index.html', '<h1>sub index</h1>\n');
  write('sub/page.html', '<p>page</p>\n');
  write('sub/.hidden', 'hidden\n');
  write('listing/a.txt', 'a\n');
  write('listing/<b>&"x".txt', 'b\n');
  write('listing/.dot', 'dot\n');
  mkdirSync(path.join(root, 'listing/inner'));
  write('dir.txt/index.html', '<p>a directory named like a file</p>\n');
  write('.secret', 'dotfile secret\n');
  write('.well-known/security.txt', 'Contact: mailto:security@localhost\n');
  mkdirSync(path.join(root, 'empty-dir'));
  symlinkSync(path.join(root, 'hello.txt'), path.join(root, 'link-inside.txt'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-outside.txt'));
  symlinkSync(outside, path.join(root, 'dir-link-outside'));
  return {
    base,
    root,
    outside,
    big,
    medium,
    css,
    remove: () => rmSync(base, { recursive: true, force: true }),
  };
}
