/**
 * What mortar writes to the terminal about a request, made safe: a thrown value is described
 * without ever throwing, and text that came from a request or an application (error messages,
 * stacks) cannot move the cursor, recolour, clear the screen or fake a line of its own — any
 * web page can make a developer's browser trigger an error, so its message is hostile input.
 *
 * Imports nothing, so the middlewares' own log lines use it too.
 */

// C0 controls but tab and newline, DEL, and C1 controls (ESC [ ... and CSI as one byte).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const CONTROL_OR_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

function escapeControl(character: string): string {
  const code = character.charCodeAt(0);
  if (code === 10) return '\\n';
  if (code === 13) return '\\r';
  return `\\x${code.toString(16).padStart(2, '0')}`;
}

/**
 * `text` with every control character written as an escape (`\x1b`, `\r`, …), so a terminal
 * shows it rather than obeying it. Newlines are kept as line breaks when `multiline`, else
 * escaped too (one log line stays one line).
 */
export function terminalSafe(text: string, multiline = false): string {
  return text.replace(multiline ? CONTROL : CONTROL_OR_NEWLINE, escapeControl);
}

/**
 * A thrown value for a log, terminal-safe: an Error as its stack (its `name: message` line on
 * one line, the frames below), anything else as what it was. Never throws, whatever the value's
 * getters do.
 */
export function describeError(error: unknown): string {
  try {
    if (error instanceof Error) {
      const head = `${String(error.name)}: ${String(error.message)}`;
      const stack = error.stack;
      if (typeof stack !== 'string') return terminalSafe(head);
      const frames = stack.startsWith(head) ? stack.slice(head.length) : `\n${stack}`;
      return terminalSafe(head) + terminalSafe(frames, true);
    }
    return `a thrown ${describeValue(error)} (throw an Error to get a stack trace)`;
  } catch {
    return 'a thrown value that could not be described (its properties throw)';
  }
}

/** A value for a log: its class or type, and the start of its text. Never throws. */
export function describeValue(value: unknown): string {
  try {
    if (value === null || value === undefined) return String(value);
    if (typeof value === 'object' || typeof value === 'function') {
      const name = (value as object).constructor?.name;
      return name ? `an object of class ${terminalSafe(String(name))}` : 'an object';
    }
    return `a ${typeof value} (${terminalSafe(String(value).slice(0, 40))})`;
  } catch {
    return 'a value that could not be described (its properties throw)';
  }
}

/**
 * Attaches the rule for a promise nobody awaits: its failure is logged as one line, never left
 * as an unhandled rejection (which ends a Node process).
 *
 * @param what - What failed, for the log line (`the response to GET /x`); a function when
 *   making the text costs something (reading `request.url`), so only a failure pays for it.
 */
export function settle(
  promise: Promise<unknown>,
  log: (line: string) => void,
  what: string | (() => string),
): void {
  promise.catch((error: unknown) => {
    try {
      log(`mortar: ${typeof what === 'function' ? what() : what} failed: ${describeError(error)}`);
    } catch {
      // A log that throws has nowhere left to report to.
    }
  });
}
