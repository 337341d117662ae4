// The client of the demo's /live page (examples/site/live.ts): one WebSocket to the page's
// socket, opened again by itself whenever it closes — a restart of the server, a lost network —
// after a back-off that doubles from half a second to 15 seconds (with jitter, so that a
// restarted server is not met by every page at once) and starts over once a socket opens.
// A served file, not an inline script: the page's Content-Security-Policy allows only 'self'.
const root = document.getElementById('live');
const status = document.getElementById('status');
const list = document.getElementById('messages');
const form = document.getElementById('say');
const url = new URL(root.dataset.socket, location.href);
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

const FIRST_DELAY = 500; // milliseconds
const MAX_DELAY = 15_000;
let delay = FIRST_DELAY;
let socket;
let retry;

function show(state, text) {
  status.dataset.state = state;
  status.textContent = text;
  form.elements.send.disabled = state !== 'connected';
}

function append(message) {
  const item = document.createElement('li');
  if (message.from === undefined) {
    item.className = 'notice';
    item.textContent = message.text;
  } else {
    const from = document.createElement('strong');
    from.textContent = message.from;
    item.append(from, `: ${message.text}`);
  }
  list.append(item);
  item.scrollIntoView({ block: 'nearest' });
}

function connect() {
  clearTimeout(retry);
  show('connecting', 'connecting…');
  socket = new WebSocket(url);
  socket.addEventListener('open', () => {
    delay = FIRST_DELAY;
    show('connected', 'connected');
  });
  socket.addEventListener('message', (event) => append(JSON.parse(event.data)));
  socket.addEventListener('close', (event) => {
    const wait = Math.round(delay * (0.5 + Math.random() / 2));
    delay = Math.min(delay * 2, MAX_DELAY);
    const why = event.code === 1001 ? 'the server went away' : `closed (${event.code})`;
    show('reconnecting', `${why}: reconnecting in ${(wait / 1000).toFixed(1)} s…`);
    retry = setTimeout(connect, wait);
  });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = form.elements.text;
  if (socket?.readyState !== WebSocket.OPEN || !input.value.trim()) return;
  socket.send(input.value);
  input.value = '';
  input.focus();
});
// Back online, or back to a tab the browser had throttled: try at once, not after the back-off.
window.addEventListener('online', () => socket?.readyState === WebSocket.CLOSED && connect());

connect();
