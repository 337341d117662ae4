/**
 * Runs two processes that write different keys of one session at the same moment (see
 * test/fixtures/session-writer.ts), to test the cross-process merge of a shared store.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/session-writer.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

/** Starts one writer per key, all beginning together, and waits for them. */
export async function runWriters(
  where: string,
  cookie: string,
  keys: string[],
  count: number,
): Promise<void> {
  const startAt = String(Date.now() + 2500);
  await Promise.all(
    keys.map(
      (key) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [tsx, script, where, cookie, key, String(count), startAt],
            {
              stdio: ['ignore', 'ignore', 'inherit'],
            },
          );
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`writer ${key} exited ${code}`)),
          );
        }),
    ),
  );
}
