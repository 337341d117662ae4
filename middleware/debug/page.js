// The traceback page's script: the PIN form and each frame's console. Served inline under the
// page's nonce CSP; its settings (the console's base path, the error id and the per-process
// token) come from the page's <script type="application/json" id="mortar-debug">.
const settings = JSON.parse(document.getElementById('mortar-debug').textContent);

const post = (path, body) =>
  fetch(settings.base + path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-mortar-debug-token': settings.token },
    body: JSON.stringify(body),
  });

const pinForm = document.querySelector('form.pin');
pinForm?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await post('/pin', { pin: pinForm.elements.pin.value });
  const result = await response.json();
  if (result.ok) pinForm.remove();
  else pinForm.querySelector('[role=status]').textContent = result.text;
});

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
