/**
 * A profile's call frames mapped to the original source (TypeScript), and its heaviest
 * functions by self time — what the index lists for each profile.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { originalPosition, safeFilePath, shownPath } from '../_shared/source-map.js';
import type { CpuProfile } from './profiler.js';

/** One function's share of a profile. */
export interface HeavyFunction {
  name: string;
  /** File (relative to the current directory when inside it) or URL, as shown. */
  file: string;
  /** 1-based; 0 when unknown. */
  line: number;
  /** 1-based; 0 when unknown. */
  column: number;
  /** Milliseconds of samples in the function itself. */
  self: number;
}

/**
 * Rewrites every call frame of `profile` (in place) to its original position when a source
 * map covers it: a TypeScript file's `file:` URL, its line and column (0-based, as the format
 * counts) — so DevTools and speedscope, which have no source maps for a file they are given,
 * show the TypeScript lines.
 */
export function mapProfile(profile: CpuProfile): CpuProfile {
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    if (!frame.url || frame.lineNumber < 0) continue;
    const mapped = originalPosition(frame.url, frame.lineNumber + 1, frame.columnNumber + 1);
    if (!mapped) continue;
    frame.url = pathToFileURL(mapped.file).href;
    frame.lineNumber = mapped.line - 1;
    frame.columnNumber = mapped.column - 1;
    delete node.positionTicks; // lines of the generated code
  }
  return profile;
}

/** Pseudo-functions that are no code of anyone's: time spent waiting. */
const NOT_CODE = new Set(['(root)', '(idle)']);

/**
 * The `count` functions with the most self time (each sample's time counted to the function
 * on top of its stack), waiting (`(idle)`) left out; `(program)` and `(garbage collector)`
 * stay, as they are time the request cost.
 */
export function heaviestFunctions(profile: CpuProfile, count = 10): HeavyFunction[] {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, HeavyFunction>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byNode.get(samples[i]!);
    if (!node || NOT_CODE.has(node.callFrame.functionName)) continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const key = `${functionName}\u0000${url}\u0000${lineNumber}\u0000${columnNumber}`;
    let entry = totals.get(key);
    if (!entry) {
      const file = url ? safeFilePath(url) : '';
      entry = {
        name: functionName || '(anonymous)',
        file: path.isAbsolute(file) ? shownPath(file) : file,
        line: url ? lineNumber + 1 : 0,
        column: url ? columnNumber + 1 : 0,
        self: 0,
      };
      totals.set(key, entry);
    }
    // A sample stands for the time until the next one (the last: the one before it).
    entry.self += (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
  }
  return [...totals.values()]
    .sort((a, b) => b.self - a.self)
    .slice(0, count)
    .map((entry) => ({ ...entry, self: Math.round(entry.self * 10) / 10 }));
}
