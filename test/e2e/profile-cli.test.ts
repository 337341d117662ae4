/**
 * `mortar serve --profile [DIR]` and `--block-watch [MS]` (on by default under `--reload`),
 * as a user runs them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { root, run, served } from './cli-run.js';

const fixture = path.join(root, 'test/fixtures/busy.ts');
const line =
  readFileSync(fixture, 'utf8')
    .split('\n')
    .findIndex((text) => text.includes('BLOCK: busy')) + 1;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mortar-profile-cli-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function until(check: () => boolean, what: string, output: () => string) {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`${what} did not happen:\n${output()}`);
}

describe('mortar serve --profile --block-watch', () => {
  it('profiles each request into ./profiles and names the blocking line, with the request id', async () => {
    const server = run(
      ['serve', '--profile', fixture, '--port', '0', '--block-watch', '50', '--access-log'],
      {
        cwd: dir,
      },
    );
    const url = await served(server);
    await until(
      () => server.output().includes('block-watch: watching'),
      'the watchdog',
      server.output,
    );
    expect(server.output()).toContain(`their index: ${url}__profile__/`);
    const response = await fetch(new URL('/busy', url));
    const id = response.headers.get('x-request-id');
    const profiles = readdirSync(path.join(dir, 'profiles'));
    expect(profiles).toHaveLength(1);
    expect(profiles[0]).toContain('_GET_busy_200_');
    await until(() => server.output().includes('blocked'), 'a block line', server.output);
    expect(server.output()).toMatch(
      new RegExp(
        `blocked \\d+ ms by GET /busy \\(id ${id}\\) at application \\(.*busy\\.ts:${line}:\\d+\\)`,
      ),
    );
  });

  it('watches for blocks under --reload without being asked, unless --no-block-watch', async () => {
    const server = run(['serve', fixture, '--port', '0', '--reload'], { cwd: dir });
    const url = await served(server);
    await until(
      () => server.output().includes('block-watch: watching'),
      'the watchdog',
      server.output,
    );
    await fetch(new URL('/busy', url));
    await until(() => server.output().includes('blocked'), 'a block line', server.output);
    expect(server.output()).toContain('by GET /busy');
    expect(existsSync(path.join(dir, 'profiles'))).toBe(false);
    const quiet = run(['serve', fixture, '--port', '0', '--reload', '--no-block-watch'], {
      cwd: dir,
    });
    const quietUrl = await served(quiet);
    await fetch(new URL('/busy', quietUrl));
    await fetch(new URL('/', quietUrl));
    expect(quiet.output()).not.toContain('block-watch');
  });
});
