// The traceback page's script: the PIN form and each frame's console. Served inline under the
// page's nonce CSP; its settings (the console's base path, the error id, and — once the PIN was
// given — the per-process token) come from the page's <script type="application/json"
// id="mortar-debug">. A right PIN answers with the token and each app frame's locals, which
// are filled in here (as text, never as HTML) and the consoles shown.
const settings = JSON.parse(document.getElementById('mortar-debug').textContent);

const post = (path, body) =>
  fetch(settings.base + path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'content-type': 'application/json',
      ...(settings.token ? { 'x-mortar-debug-token': settings.token } : {}),
    },
    body: JSON.stringify(body),
  });

const NOT_CAPTURED =
  'No local variables were captured for this frame: it was suspended at an await (only frames running after their last await have scopes), or capture was rate-limited.';

/** Puts a frame's locals where the page left a placeholder for them. */
function showLocals(slot, pairs) {
  if (!pairs || Object.keys(pairs).length === 0) {
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = NOT_CAPTURED;
    slot.replaceWith(note);
    return;
  }
  const table = document.createElement('table');
  table.className = 'vars';
  for (const [name, value] of Object.entries(pairs)) {
    const row = table.insertRow();
    row.insertCell().textContent = name;
    row.insertCell().textContent = value;
  }
  slot.replaceWith(table);
}

const pinForm = document.querySelector('form.pin');

/** Shows what a right PIN (or the cookie of an earlier one) unlocked. */
function unlocked(result) {
  settings.token = result.token;
  for (const slot of document.querySelectorAll('.locked[data-frame]')) {
    showLocals(slot, result.locals[Number(slot.dataset.frame)]);
  }
  for (const form of document.querySelectorAll('form.console[hidden]')) form.hidden = false;
  pinForm?.remove();
}

pinForm?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await post('/pin', { pin: pinForm.elements.pin.value, id: settings.id });
  const result = await response.json();
  if (result.ok) unlocked(result);
  else pinForm.querySelector('[role=status]').textContent = result.text;
});

// This browser gave the PIN for an earlier page: its cookie (scoped to the console's path)
// unlocks this one without asking again.
if (!settings.token) {
  post('/pin', { id: settings.id })
    .then((response) => response.json())
    .then(
      (result) => result.ok && unlocked(result),
      () => {},
    );
}

for (const form of document.querySelectorAll('form.console')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = form.elements.expression;
    const out = document.createElement('pre');
    out.className = 'out';
    out.textContent = '…';
    form.nextElementSibling.prepend(out);
    try {
      const response = await post('/console', {
        id: settings.id,
        frame: Number(form.dataset.frame),
        expression: input.value,
      });
      const result = await response.json();
      out.className = `out ${result.ok ? 'ok' : 'bad'}`;
      out.textContent = `> ${input.value}\n${result.text}`;
    } catch (error) {
      out.className = 'out bad';
      out.textContent = String(error);
    }
  });
}
