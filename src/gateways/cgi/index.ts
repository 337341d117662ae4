/**
 * `mortar/cgi` — the CGI gateway (RFC 3875, as wsgiref's CGIHandler): one request per process, read from
 * the environment and standard input, answered on standard output.
 *
 * ```sh
 * #!/bin/sh
 * exec mortar cgi /srv/app/app.ts:application
 * ```
 * @module mortar/cgi
 */
import { Readable } from 'node:stream';
import { is, optionChecker } from '../../_internal/options.js';
import { settlePending } from '../../_internal/pending.js';
import type { Application } from '../../types.js';
import { streamSink, writeCGIResponse } from '../_cgi/cgi-response.js';
import { answer, rebuildRequest } from '../_cgi/meta-variables.js';
import { startCGILifespans } from '../_shared/lifespan.js';

/** Where a CGI request comes from and goes to (the process's own by default). */
export interface CGIOptions {
  /** The meta-variables. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** The request body. @default process.stdin */
  stdin?: NodeJS.ReadableStream;
  /** Where the response goes. @default process.stdout */
  stdout?: NodeJS.WritableStream;
  /** Where errors are logged (the front end's error log). @default process.stderr */
  log?: (line: string) => void;
}

/** Milliseconds {@link runCGI} waits, after the response, for the tasks given to `waitUntil()`. */
export const CGI_WAIT_UNTIL_TIMEOUT = 10_000;
const checkOptions = optionChecker<CGIOptions>('runCGI', {
  env: is.object,
  stdin: is.object,
  stdout: is.object,
  log: is.function,
});

/**
 * Runs `app` for the one request described by the CGI environment, and resolves when the
 * response is written and the tasks the application gave to `waitUntil()` have settled (at
 * most {@link CGI_WAIT_UNTIL_TIMEOUT} ms more: the front end sees the response end when the
 * process exits, unless it has a `Content-Length`). A request the environment cannot describe gets a 400; a thrown
 * HTTPError its own response; anything else thrown a 500 and a line on stderr.
 *
 * Lifespans (`withLifespan` in `mortar`): a CGI process serves one request, so the
 * application's lifespans start before it and stop after it (and after the `waitUntil()`
 * tasks) — each request pays for its startup; a startup that fails answers 500 and logs
 * the lifespan and why.
 *
 * @throws ConfigError (a rejection) for an unknown option or a value of the wrong kind.
 */
export async function runCGI(app: Application, options: CGIOptions = {}): Promise<void> {
  checkOptions(options);
  const env = options.env ?? process.env;
  const stdout = options.stdout ?? process.stdout;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const meta: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) meta[name] = value;
  const length = Number(meta.CONTENT_LENGTH || 0);
  const stdin = options.stdin ?? process.stdin;
  const body =
    length > 0
      ? (Readable.toWeb(Readable.from(limit(stdin, length))) as ReadableStream<Uint8Array>)
      : null;
  const abort = new AbortController();
  const rebuilt = rebuildRequest(meta, body, abort.signal, 'cgi');
  const lifespans = await startCGILifespans(app, CGI_WAIT_UNTIL_TIMEOUT, log);
  const { response, request } = await answer(lifespans.app, rebuilt, log);
  await writeCGIResponse(streamSink(stdout), response, request, log);
  await settlePending(performance.now() + CGI_WAIT_UNTIL_TIMEOUT, CGI_WAIT_UNTIL_TIMEOUT, log);
  await lifespans.stop();
}

/**
 * The first `length` bytes of a stream (RFC 3875 §4.2: never read past `CONTENT_LENGTH`).
 * @throws Error when the stream ends before `length` bytes.
 */
async function* limit(stream: NodeJS.ReadableStream, length: number): AsyncGenerator<Buffer> {
  let remaining = length;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    yield buffer.subarray(0, remaining);
    remaining -= buffer.length;
    if (remaining <= 0) return;
  }
  throw new Error(`the request body ended ${remaining} bytes short of its CONTENT_LENGTH`);
}
