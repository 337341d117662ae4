/**
 * `cascade`: try applications in turn while they answer a caught status (paste.cascade), the
 * request body buffered and replayed to each.
 */
import { ConfigError, is, optionChecker } from '../../src/_internal/options.js';
import { assertEnviron } from '../../src/environ.js';
import { errorResponse } from '../../src/http-error.js';
import { carryLifespans } from '../../src/lifespan.js';
import type { Application, Environ } from '../../src/types.js';

const checkCascadeOptions = optionChecker<CascadeOptions>('cascade', {
  catch: is.listOf(is.integer(100)),
  maxBodySize: is.bytes(),
});

/** Options of {@link cascade}. */
export interface CascadeOptions {
  /** Statuses that mean "try the next application". @default [404] */
  catch?: readonly number[];
  /**
   * Largest request body, in bytes, buffered so that every application can read it; a larger
   * one answers 413.
   * @default 1_048_576 (1 MiB)
   */
  maxBodySize?: number;
}

/**
 * Tries applications in order (paste.cascade): while one answers a caught status (404 by
 * default), its response body is cancelled and the next is tried; the last answer is
 * returned whatever its status. A request body is buffered (up to `maxBodySize`) and replayed
 * to each application. An application that throws ends the cascade with that error. It
 * carries the lifespans of `apps` (`withLifespan` in `mortar`), in order.
 *
 * @throws ConfigError at construction when `apps` is empty or holds a non-function, or for
 *   an unknown option or one of the wrong kind.
 */
export function cascade(apps: readonly Application[], options: CascadeOptions = {}): Application {
  checkCascadeOptions(options);
  if (apps.length === 0) throw new ConfigError('cascade: give at least one application');
  apps.forEach((app, index) => {
    if (typeof app !== 'function') {
      throw new ConfigError(`cascade: application ${index + 1} is ${typeof app}, not a function`);
    }
  });
  const caught = new Set(options.catch ?? [404]);
  const maxBodySize = options.maxBodySize ?? 1_048_576;

  return carryLifespans(cascadeApp, ...apps);

  async function cascadeApp(request: Request, environ: Environ): Promise<Response> {
    assertEnviron(environ, 'cascade()');
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (request.body !== null) {
      const read = await readBody(request, maxBodySize);
      if (read === undefined) {
        return errorResponse(413, request, `the request body is larger than ${maxBodySize} bytes`);
      }
      body = read;
    }
    for (let index = 0; ; index++) {
      const app = apps[index]!;
      const attempt =
        body === undefined
          ? request
          : new Request(request.url, {
              method: request.method,
              headers: request.headers,
              body,
              signal: request.signal,
            });
      const response = await app(attempt, environ);
      if (index === apps.length - 1 || !caught.has(response.status)) return response;
      await response.body?.cancel();
    }
  }
}

/** The whole body, or `undefined` when it is larger than `limit` bytes. */
async function readBody(
  request: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const declared = Number(request.headers.get('content-length'));
  if (declared > limit) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
