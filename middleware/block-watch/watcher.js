// blockWatch()'s watcher, a worker thread: it watches the main thread's heartbeat (a time in a
// SharedArrayBuffer, written by a timer of the main thread) and, when a beat is more than the
// threshold late, connects an inspector session to the main thread, enables its debugger,
// pauses it, reads its call frames and which request was running, resumes it and disconnects
// at once; when the beats come back it posts what it found with how long the loop was blocked.
// The main thread maps the frames to the source and writes the line (Sentry's event-loop-block
// integration works this way).
//
// The session is connected only while a block is read: an enabled debugger sends every promise
// of the main thread through V8's slow path (as a promise hook does), a cost every request
// would pay; and while a session of another thread is connected, a pause of the main thread's
// own session (debug()'s, on an exception) waits for a session to resume it. Enabling the
// debugger in a block costs the blocked thread a few milliseconds (a parse event per script),
// which, with the pause, is not counted in the block's duration.
//
// Plain JavaScript: a worker loads it as it is, from the sources or from dist/.
import inspector from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';

const { heartbeat, threshold, interval, expression } = workerData;
const beat = new Float64Array(heartbeat);

/**
 * The block being watched: the beat it started after, when its pause landed and what it found,
 * and `held`, the milliseconds the main thread spent on this worker's requests.
 */
let block;

/** Whether a session is connected (a pause asked for a block that ended is yet to land). */
let reading = false;

/** Reads the stack of the blocked main thread into `found`, then lets it go. */
function read(found) {
  const session = new inspector.Session();
  session.connectToMainThread();
  reading = true;
  // CallFrame.url is empty in current V8: scripts are known by id from their parse events.
  const scripts = new Map();
  let parsing;
  session.on('Debugger.scriptParsed', (message) => {
    scripts.set(message.params.scriptId, message.params.url);
    parsing ??= performance.now();
  });
  const done = () =>
    session.post('Debugger.resume', () => {
      found.held += performance.now() - found.paused;
      session.disconnect();
      reading = false;
    });
  session.on('Debugger.paused', (message) => {
    const { reason, callFrames } = message.params;
    if (reason !== 'other' || found.paused !== undefined) {
      // Not ours: an exception pause of debug()'s (which read what it needed while its handler
      // ran; the main thread now waits in the inspector's loop for a session to resume it, and
      // a session of another thread counts) or a `debugger;` statement. Resume it.
      session.post('Debugger.resume', () => {});
      return;
    }
    found.paused = performance.now();
    if (beat[0] !== found.since || callFrames.length === 0) {
      // The block ended before the pause landed: these frames are someone else's.
      done();
      return;
    }
    found.frames = callFrames.slice(0, 20).map((frame) => ({
      name: frame.functionName,
      url: frame.url || scripts.get(frame.location.scriptId) || '',
      line: frame.location.lineNumber + 1,
      column: (frame.location.columnNumber ?? 0) + 1,
    }));
    // The expression reads the whole stack whichever frame it runs on; not on one of Node's
    // own (its module loader's frames have no `Symbol` in their scope).
    const own = found.frames.findIndex((frame) => !frame.url.startsWith('node:'));
    const { callFrameId } = callFrames[Math.max(0, own)];
    session.post(
      'Debugger.evaluateOnCallFrame',
      { callFrameId, expression, returnByValue: true, silent: true },
      (error, result) => {
        if (!error && typeof result?.result?.value === 'string')
          found.request = result.result.value;
        done();
      },
    );
  });
  session.post('Debugger.enable', () => {
    // From its first parse event to its answer, the main thread enabled the debugger.
    if (parsing !== undefined) found.held += performance.now() - parsing;
  });
  session.post('Debugger.pause');
}

/** The beat seen when the worker started: watching starts at the next one. */
const startedAt = beat[0];
let ready = false;

function check() {
  const last = beat[0];
  if (!ready) {
    // The first beat since: from now on a late one is a block. Say so (not before: a block
    // that began before this beat would go unseen).
    if (last === startedAt) return;
    ready = true;
    parentPort.postMessage({ ready: true });
  }
  if (block) {
    if (last === block.since) return;
    // The loop is back: the first beat after the block came `last - since` ms after the one
    // before it, `interval` ms of which were the timer's own wait, and `held` ms this worker's.
    const duration = Math.max(0, Math.round(last - block.since - interval - block.held));
    parentPort.postMessage({ duration, frames: block.frames ?? [], request: block.request });
    block = undefined;
    return;
  }
  if (Date.now() - last - interval > threshold) {
    block = { since: last, held: 0 };
    // One session at a time: two would both take the pause either asks for.
    if (!reading) read(block);
  }
}

setInterval(check, interval);
