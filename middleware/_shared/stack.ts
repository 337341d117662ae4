/**
 * Errors as data: frames parsed from V8 stacks and mapped back to the original source (once),
 * with code around each line; `cause` chains and AggregateError members.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { originalPosition, safeFilePath } from './source-map.js';

/** One stack frame, mapped to the original source when a source map is known. */
export interface Frame {
  /** Function name, or `<anonymous>`. */
  name: string;
  /** File path (or `node:…` URL), as shown. */
  file: string;
  line: number;
  column: number;
  /** `app` (your code), `library` (node_modules) or `internal` (`node:` and native). */
  kind: 'app' | 'library' | 'internal';
  /** About 11 lines around `line`, when the file can be read. */
  context?: { start: number; lines: string[] };
}

/** An error, its frames, and the errors it carries. */
export interface ErrorReport {
  name: string;
  message: string;
  frames: Frame[];
  /** The raw stack text (as the runtime printed it). */
  stack: string;
  /** `error.cause`, when it is set. */
  cause?: ErrorReport;
  /** An AggregateError's members. */
  errors?: ErrorReport[];
}

const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;

/** The error pages' own folders (`errors/`, `debug/`, this `_shared/`) beside this file's. */
const OWN_DIRS = ['errors', 'debug', '_shared'].map(
  (name) => path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), name) + path.sep,
);

/**
 * Whether `file` is one of the error pages' own (errors(), debug(), this parser): such frames
 * are shown as internal, and their locals are never captured or shown (the debugger's hold its
 * PIN and token).
 */
export function isOwnFrameFile(file: string): boolean {
  return OWN_DIRS.some((dir) => file.startsWith(dir));
}

/**
 * Describes `error` (any thrown value), following `cause` (up to 8 deep) and AggregateError
 * members.
 */
export function reportOf(error: unknown, depth = 0): ErrorReport {
  if (!(error instanceof Error)) {
    return { name: 'a thrown value', message: safeString(error), frames: [], stack: '' };
  }
  const stack = typeof error.stack === 'string' ? error.stack : '';
  const report: ErrorReport = {
    name: error.name,
    message: error.message,
    frames: parseFrames(stack),
    stack,
  };
  if (error.cause !== undefined && depth < 8) report.cause = reportOf(error.cause, depth + 1);
  if (error instanceof AggregateError && depth < 8) {
    report.errors = [...error.errors].slice(0, 20).map((member) => reportOf(member, depth + 1));
  }
  return report;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Parses a V8 stack's `at` lines into frames, mapping them when the runtime did not. */
export function parseFrames(stack: string): Frame[] {
  const frames: Frame[] = [];
  for (const text of stack.split('\n')) {
    const match = FRAME.exec(text);
    if (!match) continue;
    const [, name = '<anonymous>', location = '', line = '0', column = '0'] = match;
    let file = location.startsWith('file://') ? safeFilePath(location) : location;
    let lineNumber = Number(line);
    let columnNumber = Number(column);
    // Never map twice: when the runtime maps stacks itself (tsx, vitest, --enable-source-maps),
    // the positions are already the original ones.
    if (!process.sourceMapsEnabled && path.isAbsolute(file)) {
      const mapped = originalPosition(file, lineNumber, columnNumber);
      if (mapped) ({ file, line: lineNumber, column: columnNumber } = mapped);
    }
    const kind: Frame['kind'] =
      file.startsWith('node:') || !path.isAbsolute(file) || isOwnFrameFile(file)
        ? 'internal'
        : file.includes(`${path.sep}node_modules${path.sep}`)
          ? 'library'
          : 'app';
    frames.push({
      name,
      file,
      line: lineNumber,
      column: columnNumber,
      kind,
      context: context(file, lineNumber),
    });
  }
  return frames;
}

const sources = new Map<string, string[] | null>();

/** Lines `line - 5` … `line + 5` of `file`, when it can be read. */
function context(file: string, line: number): Frame['context'] {
  if (!path.isAbsolute(file)) return undefined;
  let lines = sources.get(file);
  if (lines === undefined) {
    try {
      lines = readFileSync(file, 'utf8').split('\n');
    } catch {
      lines = null;
    }
    if (sources.size > 200) sources.clear();
    sources.set(file, lines);
  }
  if (!lines) return undefined;
  const start = Math.max(1, line - 5);
  return { start, lines: lines.slice(start - 1, line + 5) };
}

/** A plain-text traceback, Python-style, for logs and for copying. */
export function formatText(report: ErrorReport, indent = ''): string {
  let text = `${indent}${report.name}: ${report.message}\n`;
  for (const frame of report.frames) {
    text += `${indent}    at ${frame.name} (${frame.file}:${frame.line}:${frame.column})\n`;
  }
  for (const [index, member] of (report.errors ?? []).entries()) {
    text += `${indent}  [${index}] ${formatText(member, `${indent}  `).trimStart()}`;
  }
  if (report.cause) text += `${indent}Caused by: ${formatText(report.cause, indent).trimStart()}`;
  return text;
}
