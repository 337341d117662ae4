/**
 * The event-loop blocks blockWatch() saw lately, kept per process so debug()'s page can show
 * them beside its errors without either middleware importing the other.
 */

/** One frame of a blocking stack, mapped to the original source when a map covers it. */
export interface BlockFrame {
  /** Function name, or `<anonymous>`. */
  name: string;
  /** File path (relative to the current directory when inside it), or a `node:` URL. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** One block of the event loop. */
export interface BlockRecord {
  /** When it was reported, in milliseconds since the epoch. */
  time: number;
  /** How long the loop was blocked, in milliseconds. */
  duration: number;
  /** The request whose code was running, when one was. */
  request?: { method: string; path: string; id?: string };
  /** The blocking stack, innermost first; empty when the block ended before it was sampled. */
  frames: BlockFrame[];
  /** The log line written for it. */
  line: string;
  /** Where it blocked, as the line says it: `at fn (file:line:column) …`. */
  where: string;
}

const KEPT = 20;
const recent: BlockRecord[] = [];

/** Keeps a block (the oldest go past {@link KEPT}). */
export function rememberBlock(record: BlockRecord): void {
  recent.unshift(record);
  if (recent.length > KEPT) recent.length = KEPT;
}

/** The blocks kept, newest first. */
export function recentBlocks(): readonly BlockRecord[] {
  return recent;
}
