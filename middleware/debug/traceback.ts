/**
 * What `debug()` shows for one error: its report (frames, causes, members), the locals captured
 * for its app frames, the request with credentials redacted, and the environ.
 */
import { randomBytes } from 'node:crypto';
import type { Environ } from '../../src/types.js';
import type { CapturedFrame, LocalsCapture } from './capture.js';
import { redactHeaders, type Traceback } from './render.js';
import { type Frame, reportOf } from './stack.js';

/**
 * Builds the traceback of `error`, and arms the locals capture for the next errors.
 * @param capture - The capture in use, or `undefined` when it is off.
 */
export function buildTraceback(
  error: unknown,
  request: Request,
  environ: Environ,
  capture: LocalsCapture | undefined,
): Traceback {
  const report = reportOf(error);
  const wasArmed = capture?.armed ?? false;
  capture?.arm();
  return {
    id: randomBytes(8).toString('hex'),
    report,
    locals: align(report.frames, capture?.framesOf(error)),
    capture: capture === undefined ? 'off' : wasArmed ? 'on' : 'starting',
    request: {
      method: request.method,
      url: request.url,
      headers: redactHeaders(request.headers),
    },
    environ: {
      scriptName: environ.scriptName,
      pathInfo: environ.pathInfo,
      remoteAddress: String(environ.remoteAddress),
      gateway: environ.gateway,
    },
  };
}

/**
 * Pairs the app frames of the stack with the frames whose locals were captured, by function
 * name (the capture skips frames the stack shows and the other way round).
 */
export function align(
  frames: readonly Frame[],
  captured: readonly CapturedFrame[] | undefined,
): (CapturedFrame | undefined)[] {
  const out: (CapturedFrame | undefined)[] = [];
  let next = 0;
  const bare = (name: string) =>
    name
      .replace(/^async /, '')
      .split('.')
      .at(-1) ?? name;
  for (const frame of frames) {
    if (frame.kind === 'internal') continue;
    const candidate = captured?.[next];
    const match = candidate && bare(candidate.name) === bare(frame.name);
    if (match) next++;
    if (frame.kind === 'app') out.push(match ? candidate : undefined);
  }
  return out;
}
