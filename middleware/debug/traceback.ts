/**
 * What `debug()` shows for one error: its report (frames, causes, members), the locals captured
 * for its app frames, the request with credentials redacted, and the environ.
 */
import { randomBytes } from 'node:crypto';
import { terminalSafe } from '../../src/_internal/log.js';
import type { Environ } from '../../src/types.js';
import { type ErrorReport, type Frame, formatText, reportOf } from '../_shared/stack.js';
import type { CapturedFrame, LocalsCapture } from './capture.js';
import { redactHeaders, type Traceback } from './render.js';

/**
 * Builds the traceback of `error`, and arms the locals capture for the next errors.
 * @param capture - The capture in use, or why there is none (`capture: false`, or the runtime).
 */
export function buildTraceback(
  error: unknown,
  request: Request,
  environ: Environ,
  capture: LocalsCapture | 'off' | 'Deno' | 'Bun',
): Traceback {
  const report = reportOf(error);
  const running = typeof capture === 'string' ? undefined : capture;
  const wasArmed = running?.armed ?? false;
  running?.arm();
  return {
    id: randomBytes(8).toString('hex'),
    report,
    locals: align(report.frames, running?.framesOf(error)),
    capture: typeof capture === 'string' ? capture : wasArmed ? 'on' : 'starting',
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

/**
 * The traceback as the terminal shows it, indented under the error's log line: every name,
 * message and file made terminal-safe on one line, so a message cannot forge a line (a PIN
 * line, say) or drive the terminal.
 */
export function terminalReport(report: ErrorReport): string {
  const safe = (r: ErrorReport): ErrorReport => ({
    ...r,
    name: terminalSafe(r.name),
    message: terminalSafe(r.message),
    frames: r.frames.map((f) => ({ ...f, name: terminalSafe(f.name), file: terminalSafe(f.file) })),
    errors: r.errors?.map(safe),
    cause: r.cause && safe(r.cause),
  });
  return formatText(safe(report), '    ').trimEnd();
}
