// The profiles page's script, served inline under the page's nonce CSP. Its settings (the
// index's base path, the chosen profile's file) come from <script type="application/json"
// id="mortar-profile">. On the PIN page (form.pin): a right PIN sets debug()'s cookie and
// reloads. On the index: the chosen profile, fetched from this server, drawn as a flame chart
// (time left to right, callers above callees), with the frame under the pointer described.
const settings = JSON.parse(document.getElementById('mortar-profile').textContent);

const pinForm = document.querySelector('form.pin');
if (pinForm) {
  pinForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await fetch(`${settings.base}/pin`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pin: pinForm.elements.pin.value }),
    });
    const result = await response.json();
    if (result.ok) location.reload();
    else pinForm.querySelector('[role=status]').textContent = result.text;
  });
}

const ROW = 16;
const IDLE = new Set(['(idle)', '(root)']);

/** The rectangles of a flame chart: per frame, its depth, start and end (microseconds). */
function flameBoxes(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const stacks = new Map();
  const stackOf = (id) => {
    let stack = stacks.get(id);
    if (!stack) {
      stack = [];
      for (let at = id; at !== undefined; at = parent.get(at)) {
        if (!IDLE.has(byId.get(at).callFrame.functionName)) stack.unshift(at);
      }
      stacks.set(id, stack);
    }
    return stack;
  };
  const boxes = [];
  const open = [];
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let time = 0;
  let depth = 0;
  for (let i = 0; i < samples.length; i++) {
    time += deltas[i] ?? 0;
    const stack =
      byId.get(samples[i])?.callFrame.functionName === '(idle)' ? [] : stackOf(samples[i]);
    let same = 0;
    while (same < open.length && same < stack.length && open[same].id === stack[same]) same++;
    for (const box of open.splice(same)) box.end = time;
    for (let d = same; d < stack.length; d++) {
      const box = { id: stack[d], depth: d, start: time, end: time, node: byId.get(stack[d]) };
      open.push(box);
      boxes.push(box);
    }
    depth = Math.max(depth, stack.length);
  }
  for (const box of open) box.end = time;
  return { boxes, total: time || 1, depth };
}

function colour(url) {
  if (!url || url.startsWith('node:')) return ['#c9c4bc', '#1d1d1f'];
  if (url.includes('/node_modules/')) return ['#e8c28a', '#1d1d1f'];
  let hash = 0;
  for (const c of url) hash = (hash * 31 + c.charCodeAt(0)) | 0;
  return [
    `hsl(${12 + (Math.abs(hash) % 30)}, 70%, ${55 + (Math.abs(hash >> 5) % 15)}%)`,
    '#1d1d1f',
  ];
}

function where(frame) {
  if (!frame.url) return '';
  const file = frame.url.startsWith('file://') ? decodeURIComponent(frame.url.slice(7)) : frame.url;
  return `${file}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
}

function draw(canvas, chart) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.parentElement.clientWidth;
  const height = Math.max(1, chart.depth) * ROW + 2;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.font = '11px ui-monospace, SFMono-Regular, Menlo, monospace';
  g.textBaseline = 'middle';
  const scale = width / chart.total;
  for (const box of chart.boxes) {
    const x = box.start * scale;
    const w = (box.end - box.start) * scale;
    if (w < 0.5) continue;
    const [fill, ink] = colour(box.node.callFrame.url);
    g.fillStyle = fill;
    g.fillRect(x, box.depth * ROW, Math.max(w - 0.5, 0.5), ROW - 1);
    if (w > 24) {
      g.save();
      g.beginPath();
      g.rect(x, box.depth * ROW, w - 2, ROW);
      g.clip();
      g.fillStyle = ink;
      g.fillText(
        box.node.callFrame.functionName || '(anonymous)',
        x + 3,
        box.depth * ROW + ROW / 2,
      );
      g.restore();
    }
  }
  return scale;
}

async function showChart() {
  const canvas = document.querySelector('.flame canvas');
  if (!canvas || !settings.chosen) return;
  const tip = document.querySelector('.flame .tip');
  const response = await fetch(settings.chosen, { credentials: 'same-origin' });
  const chart = flameBoxes(await response.json());
  let scale = draw(canvas, chart);
  window.addEventListener('resize', () => {
    scale = draw(canvas, chart);
  });
  canvas.addEventListener('mousemove', (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = (event.clientX - rect.left) / scale;
    const depth = Math.floor((event.clientY - rect.top) / ROW);
    const box = chart.boxes.find((b) => b.depth === depth && b.start <= x && x < b.end);
    tip.textContent = box
      ? `${box.node.callFrame.functionName || '(anonymous)'} · ${((box.end - box.start) / 1000).toFixed(1)} ms · ${where(box.node.callFrame)}`
      : '';
  });
  document.body.dataset.chart = 'drawn';
}

showChart().catch((error) => {
  const tip = document.querySelector('.flame .tip');
  if (tip) tip.textContent = `The chart could not be drawn: ${error}`;
});
