/**
 * What every benchmark here shares: servers in child processes, load from wrk (pinned to a
 * core of its own) when it is installed, else from autocannon in this process; interleaved
 * runs, medians, and ratios taken pair by pair (`measurePaired`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { which } from '../test/helpers/net.js';

export const runs = Number(process.env.BENCH_RUNS ?? 3);
export const seconds = Number(process.env.BENCH_SECONDS ?? 5);
export const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);

const taskset = which('taskset');

/** Whether the benches pin servers and load generator to cores of their own. */
export const pinning = taskset !== undefined && availableParallelism() > 1;

/**
 * `command` run on CPU `core` with taskset, when there is one and more than one core: servers
 * on core 0, wrk on core 1, so the load generator does not take the server's time (DESIGN §4).
 */
export function pinned(core: number, command: string[]): string[] {
  return pinning ? [taskset!, '-c', String(core), ...command] : command;
}

export interface Running {
  child: ChildProcess;
  url: string;
}

/**
 * Runs `script name ...args` (NODE_ENV=production) and waits for the URL it prints on its
 * first stdout line: with tsx, or, with `built`, as one esbuild bundle run by plain node (see
 * {@link bundle}) — what production runs, for the benchmarks that measure the hot path.
 */
export async function startServer(
  script: URL,
  name: string,
  env: Record<string, string> = {},
  args: string[] = [],
  built = false,
): Promise<Running> {
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const command = built
    ? [process.execPath, await bundle(script), name, ...args]
    : [process.execPath, tsx, fileURLToPath(script), name, ...args];
  const child = spawn(pinned(0, command)[0]!, pinned(0, command).slice(1), {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: chunk.toString().trim() };
}

const bundles = new Map<string, Promise<string>>();

/**
 * `script` and mortar's sources bundled by esbuild into one ES module under
 * node_modules/.cache/mortar-bench/ (packages stay imports): JavaScript as `tsc` builds it for
 * production. tsx compiles with esbuild's keepNames, which wraps every closure a request makes
 * in a `__name()` call — a per-request cost that is the loader's, not mortar's (it showed in
 * the profile as 2–3 % of the stack's CPU).
 * @returns The bundle's path.
 */
export function bundle(script: URL): Promise<string> {
  const source = fileURLToPath(script);
  let built = bundles.get(source);
  if (!built) {
    const out = fileURLToPath(
      new URL(
        `../node_modules/.cache/mortar-bench/${source.replace(/^.*\/bench\//, '').replaceAll('/', '-')}.mjs`,
        import.meta.url,
      ),
    );
    built = import('esbuild').then(async ({ build }) => {
      await build({
        entryPoints: [source],
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        target: 'node20',
        outfile: out,
        logLevel: 'warning',
      });
      return out;
    });
    bundles.set(source, built);
  }
  return built;
}

export interface Load {
  requests: number;
  bytes: number;
}

/** wrk's path when it is installed (`apt-get install -y wrk`): it loads harder than autocannon. */
const wrk = process.env.BENCH_LOADER === 'autocannon' ? undefined : which('wrk');

/** The load generator in use, for the report. */
export const loader = wrk ? 'wrk (1 thread)' : 'autocannon';

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/**
 * A load target: a URL, or a URL and a JSON file of `Cookie` header values that the requests
 * take in turn (many sessions at once).
 */
export type Target =
  | string
  | { url: string; cookiesFile?: string; headers?: Record<string, string> };

/** One wrk run. */
async function wrkLoad(target: Target, duration: number): Promise<Load> {
  const url = typeof target === 'string' ? target : target.url;
  const script: string[] = [];
  if (typeof target !== 'string') {
    for (const [name, value] of Object.entries(target.headers ?? {}))
      script.push('-H', `${name}: ${value}`);
  }
  if (typeof target !== 'string' && target.cookiesFile) {
    const cookies = JSON.parse(readFileSync(target.cookiesFile, 'utf8')) as string[];
    const lua = `${target.cookiesFile}.lua`;
    writeFileSync(
      lua,
      `local cookies = {${cookies.map((c) => JSON.stringify(c)).join(',')}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", nil, { ["Cookie"] = cookies[(i % #cookies) + 1] })
end
`,
    );
    script.push('-s', lua);
  }
  const output = await new Promise<string>((resolve, reject) => {
    const command = pinned(1, [wrk!, '-t1', `-c${connections}`, `-d${duration}s`, ...script, url]);
    execFile(command[0]!, command.slice(1), { encoding: 'utf8' }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
  const requests = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(output);
  const failures =
    /Non-2xx or 3xx responses: (\d+)|Socket errors: .*?(?:read|write|timeout) [1-9]/.exec(output);
  if (!Number.isFinite(requests) || !transfer || failures) {
    throw new Error(`${url}: wrk reported failures or nothing:\n${output}`);
  }
  return { requests, bytes: Number(transfer[1]) * (UNITS[transfer[2]!] ?? 1) };
}

/** One load run (wrk when installed, else autocannon): mean requests and bytes per second;
 * throws on any non-2xx or socket error. */
export async function load(target: Target, duration: number): Promise<Load> {
  if (wrk) return wrkLoad(target, duration);
  const url = typeof target === 'string' ? target : target.url;
  let requests: autocannon.Request[] | undefined;
  const headers = typeof target === 'string' ? undefined : target.headers;
  if (typeof target !== 'string' && target.cookiesFile) {
    const cookies = JSON.parse(readFileSync(target.cookiesFile, 'utf8')) as string[];
    let next = 0;
    requests = [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, cookie: cookies[next++ % cookies.length]! },
        }),
      },
    ];
  }
  const result = await autocannon({
    url,
    connections,
    duration,
    pipelining: 1,
    requests,
    ...(headers ? { headers } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
  }
  return { requests: result.requests.average, bytes: result.throughput.average };
}

export const median = (values: readonly number[]): number => quartiles(values).median;

/** The median and quartiles of `values`. */
export function quartiles(values: readonly number[]): {
  low: number;
  median: number;
  high: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { low: at(0.25), median: at(0.5), high: at(0.75) };
}

/** One pair of loads: the target's req/s over the base's, and the time it adds a request. */
export interface PairedSample {
  ratio: number;
  /** 1/target − 1/base, in microseconds (the base's own speed out of the figure). */
  addedMicroseconds: number;
}

/**
 * `target` against `base` in pairs: per round, the two loaded back to back for `burst`
 * seconds each (the order alternating round to round), and their ratio taken — so a drift of
 * the machine's speed (on a shared one, ±20 % over minutes) cancels out of each ratio instead
 * of landing in one side's median.
 */
export async function measurePaired(
  base: Target,
  target: Target,
  rounds: number,
  burst: number,
): Promise<PairedSample[]> {
  const samples: PairedSample[] = [];
  for (const each of [base, target]) await load(each, 1);
  for (let round = 0; round < rounds; round++) {
    const baseFirst = round % 2 === 0;
    const first = (await load(baseFirst ? base : target, burst)).requests;
    const second = (await load(baseFirst ? target : base, burst)).requests;
    const [plain, logged] = baseFirst ? [first, second] : [second, first];
    samples.push({ ratio: logged / plain, addedMicroseconds: 1e6 / logged - 1e6 / plain });
  }
  return samples;
}

/**
 * Loads every target once for warm-up, then `runs` times interleaved (each target once per
 * round), and returns the median requests/s and bytes/s of each.
 */
export async function measure(targets: readonly Target[]): Promise<Load[]> {
  const samples: Load[][] = targets.map(() => []);
  for (const target of targets) await load(target, 1);
  for (let run = 0; run < runs; run++) {
    for (const [index, target] of targets.entries())
      samples[index]!.push(await load(target, seconds));
  }
  return samples.map((list) => ({
    requests: median(list.map((s) => s.requests)),
    bytes: median(list.map((s) => s.bytes)),
  }));
}
