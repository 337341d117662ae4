/**
 * Every ```ts block of README.md and docs/*.md runs, as a user would paste it into a module:
 * `mortar` imports resolve to the sources, a name an earlier block of the tour made comes from
 * that block, a name the prose assumes (`admin`, `expressApp`) from a stand-in. Then what the
 * block made is used (see `test/fixtures/doc-runner.ts`): its servers, handlers and
 * applications answer a request with no 5xx, and every `value; // expected` line holds.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CodeBlock,
  codeBlocks,
  declares,
  exportSources,
  root,
  TOUR,
  uses,
} from './helpers/doc-blocks.js';
import { RedisServer, redisAvailable, redisSkipReason } from './helpers/redis.js';

const work = path.join(root, '.tmp', 'doc-run');
const runner = path.join(root, 'test/fixtures/doc-runner.ts');
const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');

/** What the prose assumes and no block makes. */
const STAND_INS = `
import express from 'express';
import { FastResponse, type Application } from ${JSON.stringify(exportSources().mortar)};
export const admin: Application = () => new FastResponse('admin');
export const expressApp = express();
`;

/** A comment that is a value (`// 200`, `// { id: '7' }`, `// 'text'`), or undefined. */
function expectedValue(comment: string): string | undefined {
  if (!/^(?:['"`\d[{-]|true\b|false\b|null\b|undefined\b)/.test(comment)) return undefined;
  try {
    new Function(`return (${comment});`)();
    return comment;
  } catch {
    return undefined;
  }
}

/** The block as a module: imports resolved, tour names imported, its own names exported. */
function moduleOf(block: CodeBlock, index: number, madeBy: Map<string, number>): string {
  const sources = exportSources();
  const lines = block.code.split('\n').map((line, offset) => {
    const rewritten = line.replace(/from '(mortar(?:\/[\w/-]+)?)'/, (whole, name: string) =>
      sources[name] ? `from ${JSON.stringify(sources[name])}` : whole,
    );
    const checked = /^(\s*)((?!const |let |import |export |return )\S.*?);\s*\/\/\s*(.+?)\s*$/.exec(
      rewritten,
    );
    const expected = checked && expectedValue(checked[3]!);
    if (!checked || expected === undefined) return rewritten;
    const where = `${block.file}:${block.line + offset}`;
    return `${checked[1]}(globalThis as any).__expect(${checked[2]}, ${expected}, ${JSON.stringify(where)});`;
  });
  const imports: string[] = [];
  for (const name of Object.keys(TOUR)) {
    if (name === 'Deno' || !uses(block.code, name) || declares(block.code, name)) continue;
    const from = madeBy.get(name);
    imports.push(`import { ${name} } from './${from === undefined ? 'stand-ins' : from}.ts';`);
  }
  const made = [...block.code.matchAll(/^(export\s+)?(?:const|let|function|class)\s+(\w+)/gm)];
  const own = made.filter((m) => m[1] === undefined).map((m) => m[2]!);
  // A tour name this block makes: later blocks import it from here.
  for (const [, , name] of made) if (name! in TOUR) madeBy.set(name!, index);
  const exported = own.length > 0 ? `\nexport { ${own.join(', ')} };` : '';
  return `${imports.join('\n')}\n${lines.join('\n')}${exported}\nexport {};\n`;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  used: [string, number][];
  failures: string[];
}

const blocks = codeBlocks();
const outcomes = new Map<number, Promise<Outcome>>();
let redis: RedisServer | undefined;
let cwd = '';

beforeAll(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(path.join(work, 'stand-ins.ts'), STAND_INS);
  const madeBy = new Map<string, number>();
  blocks.forEach((block, index) => {
    writeFileSync(path.join(work, `${index}.ts`), moduleOf(block, index, madeBy));
  });
  // The blocks' relative paths (`serveStatic('public')`) are a project's: give them one.
  cwd = mkdtempSync(path.join(tmpdir(), 'mortar-doc-run-'));
  mkdirSync(path.join(cwd, 'public'));
  writeFileSync(path.join(cwd, 'public/index.html'), '<h1>hi</h1>\n');
  if (redisAvailable && blocks.some((b) => uses(b.code, 'RedisStore'))) {
    redis = await RedisServer.start();
  }
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    SESSION_SECRET: 'a-session-secret-of-thirty-two-characters-or-more',
    ...(redis ? { REDIS_URL: redis.url } : {}),
  };
  // A few at a time, not all at once: every block's tsx process started together on two loaded
  // cores ran into the per-block timeout, which then measured the queue, not the block.
  const slots = limiter(Math.max(2, Math.min(4, availableParallelism())));
  blocks.forEach((_, index) => {
    outcomes.set(
      index,
      slots(
        () =>
          new Promise((resolve) => {
            execFile(
              process.execPath,
              [tsx, runner, path.join(work, `${index}.ts`)],
              { cwd, env, timeout: 30_000 },
              (error, stdout, stderr) => {
                const last = stdout.trim().split('\n').at(-1) ?? '';
                let result = { used: [] as [string, number][], failures: [] as string[] };
                try {
                  result = JSON.parse(last);
                } catch {}
                resolve({
                  code: error ? ((error.code as number) ?? 1) : 0,
                  stdout,
                  stderr,
                  ...result,
                });
              },
            );
          }),
      ),
    );
  });
}, 60_000);

/** Runs at most `max` of the tasks given to it at once, in the order given. */
function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

afterAll(async () => {
  await redis?.remove();
  rmSync(work, { recursive: true, force: true });
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('the code in README.md and docs/ runs', () => {
  it('has code blocks to run', () => {
    expect(blocks.length).toBeGreaterThan(10);
  });

  blocks.forEach((block, index) => {
    const needsRedis = uses(block.code, 'RedisStore') && !redisAvailable;
    it.skipIf(needsRedis)(
      `${block.file}:${block.line}${needsRedis ? ` (${redisSkipReason})` : ''}`,
      async () => {
        const outcome = await outcomes.get(index)!;
        expect(outcome.code, outcome.stderr).toBe(0);
        expect(outcome.failures).toEqual([]);
        for (const [what, status] of outcome.used) {
          expect(status, `${what} answered ${status}\n${outcome.stderr}`).toBeLessThan(500);
        }
      },
      // Blocks run a few at a time from beforeAll: a late one waits for those before it.
      240_000,
    );
  });
});
