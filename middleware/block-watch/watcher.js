// blockWatch()'s watcher, a worker thread: it watches the main thread's heartbeat (a time in a
// SharedArrayBuffer, written by a timer of the main thread) and, when a beat is more than the
// threshold late, pauses the main thread through the inspector (a session connected to the
// main thread), reads its call frames and which request was running, resumes it at once, and
// when the beats come back posts what it found with how long the loop was blocked. The main
// thread maps the frames to the source and writes the line (Sentry's event-loop-block
// integration works this way). Plain JavaScript: a worker loads it as it is, from the sources
// or from dist/.
import inspector from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';

const { heartbeat, threshold, interval, expression } = workerData;
const beat = new Float64Array(heartbeat);
const session = new inspector.Session();
session.connectToMainThread();

// CallFrame.url is empty in current V8: scripts are known by id from their parse events.
const scripts = new Map();
session.on('Debugger.scriptParsed', (message) => {
  scripts.set(message.params.scriptId, message.params.url);
});

/** The block being watched: the beat it started after, and what the pause found. */
let block;

session.on('Debugger.paused', (message) => {
  const { reason, callFrames } = message.params;
  if (reason !== 'other' || !block || block.paused) {
    // Not ours: an exception pause of debug()'s (which read what it needed while its handler
    // ran; the main thread now waits in the inspector's loop for a session to resume it, and
    // a session of another thread counts) or a `debugger;` statement. Resume it.
    session.post('Debugger.resume', () => {});
    return;
  }
  block.paused = true;
  if (beat[0] !== block.since) {
    // The block ended before the pause landed: these frames are someone else's.
    session.post('Debugger.resume', () => {});
    return;
  }
  block.frames = callFrames.slice(0, 20).map((frame) => ({
    name: frame.functionName,
    url: frame.url || scripts.get(frame.location.scriptId) || '',
    line: frame.location.lineNumber + 1,
    column: (frame.location.columnNumber ?? 0) + 1,
  }));
  const found = block;
  session.post(
    'Debugger.evaluateOnCallFrame',
    { callFrameId: callFrames[0].callFrameId, expression, returnByValue: true, silent: true },
    (error, result) => {
      if (!error && typeof result?.result?.value === 'string') found.request = result.result.value;
      session.post('Debugger.resume', () => {});
    },
  );
});

/** The beat seen when the debugger was enabled: watching starts at the next one. */
let startedAt;

function check() {
  const last = beat[0];
  // Enabling the debugger blocks the main thread (a parse event per script): not a block to report.
  if (startedAt === undefined || last === startedAt) return;
  if (!Number.isNaN(startedAt)) {
    // The first beat since: from now on a late one is a block. Say so (not before: a block
    // that began before this beat would go unseen).
    startedAt = Number.NaN;
    parentPort.postMessage({ ready: true });
  }
  if (block) {
    if (last === block.since) return;
    // The loop is back: the first beat after the block came `last - since` ms after the one
    // before it, `interval` ms of which were the timer's own wait.
    const duration = Math.max(0, Math.round(last - block.since - interval));
    parentPort.postMessage({ duration, frames: block.frames ?? [], request: block.request });
    block = undefined;
    return;
  }
  if (Date.now() - last - interval > threshold) {
    block = { since: last, paused: false };
    session.post('Debugger.pause');
  }
}

setInterval(check, interval);
session.post('Debugger.enable', () => {
  startedAt = beat[0];
});
