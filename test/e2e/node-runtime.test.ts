/**
 * The Node under test, in the processes the suite starts and in the `mortar` command: what
 * runs by name (npm, `node`, a `#!/usr/bin/env node` bin) runs on the Node running vitest
 * (vitest.config.ts puts it first on PATH), and on Node 22.1 and later `mortar` keeps the
 * modules it loads compiled in Node's compile cache (bin/mortar.js), with no setting.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-node-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the Node under test', () => {
  it('runs what the suite starts by name: node, npm, a #!/usr/bin/env node script', () => {
    const node = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' });
    const npm = JSON.parse(
      execFileSync('npm', ['version', '--json'], { cwd: root, encoding: 'utf8' }),
    );
    const script = path.join(dir, 'version');
    writeFileSync(script, '#!/usr/bin/env node\nprocess.stdout.write(process.version);\n');
    chmodSync(script, 0o755);
    expect({
      node: node.trim(),
      npm: `v${npm.node}`,
      shebang: execFileSync(script, { encoding: 'utf8' }),
    }).toEqual({ node: process.version, npm: process.version, shebang: process.version });
  });
});

describe("mortar's compile cache", () => {
  // No NODE_COMPILE_CACHE (that alone turns the cache on): the command's own call must, and
  // Node then keeps it in node-compile-cache under the temporary folder, TMPDIR here.
  const { NODE_COMPILE_CACHE: _, ...inherited } = process.env;
  const cgi = (temporary: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [path.join(root, 'bin/mortar.js'), 'cgi', 'test/fixtures/app.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...inherited,
        TMPDIR: temporary,
        REQUEST_METHOD: 'GET',
        REQUEST_URI: '/x',
        SCRIPT_NAME: '',
        PATH_INFO: '/x',
        QUERY_STRING: '',
        SERVER_NAME: 'localhost',
        SERVER_PORT: '80',
        SERVER_PROTOCOL: 'HTTP/1.1',
        GATEWAY_INTERFACE: 'CGI/1.1',
        ...env,
      },
    });
  /** The files of the compile cache under `temporary`, none when it does not exist. */
  const cached = (temporary: string) => {
    const folder = path.join(temporary, 'node-compile-cache');
    if (!existsSync(folder)) return [];
    return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  };
  const hasCache =
    typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

  it(`${hasCache ? 'fills' : 'on this Node (no compile cache) writes no'} node-compile-cache in the temporary folder on a CGI request; NODE_DISABLE_COMPILE_CACHE=1 writes none`, () => {
    const temporary = mkdtempSync(path.join(dir, 'tmp-'));
    const served = cgi(temporary);
    expect(served.status, served.stderr).toBe(0);
    expect(served.stdout).toMatch(/^Status: 200 OK\r?\n[\s\S]*application typescript \/x $/);
    // Node's cache holds one folder per Node version, one file per module compiled.
    expect(cached(temporary).length > 10).toBe(hasCache);

    const off = mkdtempSync(path.join(dir, 'off-'));
    const uncached = cgi(off, { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(uncached.stdout).toBe(served.stdout);
    expect(cached(off)).toEqual([]);
  });
});
