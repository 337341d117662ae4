// The debugger pages' script, served inline under each page's nonce CSP. Its settings (the
// console's base path, the error id and — on the traceback page, which only a browser that gave
// the PIN gets — the per-process token) come from the page's <script type="application/json"
// id="mortar-debug">.
//
// On the plain page (form.pin): a right PIN sets the cookie and opens the kept traceback at
// {base}/error/{id}, so a failed POST is never submitted again; a browser that gave the PIN
// already but arrived from another site (its SameSite=Strict cookie was not sent with that
// navigation) is sent there at once. On the traceback page: each frame's console, its output
// oldest first above the input, as a terminal's.
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

const pinForm = document.querySelector('form.pin');
const traceback = () => location.replace(`${settings.base}/error/${settings.id}`);

if (pinForm) {
  pinForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await post('/pin', { pin: pinForm.elements.pin.value });
    const result = await response.json();
    if (result.ok) traceback();
    else pinForm.querySelector('[role=status]').textContent = result.text;
  });
  post('/pin', {})
    .then((response) => response.json())
    .then(
      (result) => result.ok && traceback(),
      () => {},
    );
}

for (const form of document.querySelectorAll('form.console')) {
  const outputs = form.previousElementSibling;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = form.elements.expression;
    const expression = input.value;
    const out = document.createElement('pre');
    out.className = 'out';
    out.textContent = `> ${expression}\n…`;
    outputs.append(out);
    input.value = '';
    try {
      const response = await post('/console', {
        id: settings.id,
        frame: Number(form.dataset.frame),
        expression,
      });
      const result = await response.json();
      out.className = `out ${result.ok ? 'ok' : 'bad'}`;
      out.textContent = `> ${expression}\n${result.text}`;
    } catch (error) {
      out.className = 'out bad';
      out.textContent = `> ${expression}\n${String(error)}`;
    }
    outputs.scrollTop = outputs.scrollHeight;
    form.scrollIntoView({ block: 'nearest' });
  });
}
