// README's Workers bundle command (esbuild, neutral platform, the workerd conditions, `node:*`
// and `cloudflare:*` left to the runtime), through esbuild's API, for the tests that run a
// worker on workerd.
import { build } from 'esbuild';

/** Bundles `entry` into `outfile` as README's command does; `define` as esbuild's. */
export async function bundleWorker(
  entry: string,
  outfile: string,
  define: Record<string, string> = {},
): Promise<void> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['node:*', 'cloudflare:*'],
    define,
    outfile,
    logLevel: 'silent',
  });
}
