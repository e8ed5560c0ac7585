// Admin: where alerts go — one MQTT broker and any number of webhooks (PUT
// /api/settings/notifications), each with "Send test", which tries the form's values (saved or
// not) and shows vigil's answer: delivered, or why not (refused, timed out, TLS, HTTP status).
// Secrets come back masked; leaving the mask in place keeps the stored secret.
import { api, SECRET_MASK, type MqttTarget, type TestResult, type WebhookTarget } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';

const kTypes = ['motion', 'tamper_covered', 'tamper_defocused', 'tamper_moved', 'signal_lost'];

let uid = 0;
function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

function showResult(box: HTMLElement, r: TestResult): void {
  mount(box, h('p', { class: `result ${r.ok ? 'ok' : 'bad'}`, role: r.ok ? 'status' : 'alert' }, r.ok ? `Test sent: ${r.detail}` : `Test failed: ${r.detail}`));
}

async function runTest(button: HTMLButtonElement, box: HTMLElement, body: { mqtt: MqttTarget } | { webhook: WebhookTarget }): Promise<void> {
  button.disabled = true;
  mount(box, spinner('Sending a test…'));
  try {
    showResult(box, await api.testNotification(body));
  } catch (e) {
    mount(box, notice('error', (e as Error).message));
  } finally {
    button.disabled = false;
  }
}

// A save answers the stored state (masks in place of secrets just typed); the forms keep what is
// on screen, which means the same.
function mqttCard(initial: MqttTarget | null): HTMLElement {
  const on = h('input', { type: 'checkbox', name: 'mqtt_enabled', checked: initial !== null });
  const host = h('input', { name: 'mqtt_host', value: initial?.host ?? '', placeholder: 'broker.lan or 192.0.2.5', autocomplete: 'off', spellcheck: 'false' });
  const port = h('input', { name: 'mqtt_port', type: 'number', min: 1, max: 65535, value: initial?.port ?? '', placeholder: '1883 (8883 with TLS)' });
  const tls = h('input', { type: 'checkbox', name: 'mqtt_tls', checked: initial?.tls ?? false });
  const ca = h('input', { name: 'mqtt_ca_file', value: initial?.ca_file ?? '', placeholder: '/etc/vigil/broker-ca.pem', autocomplete: 'off', spellcheck: 'false' });
  const user = h('input', { name: 'mqtt_username', value: initial?.username ?? '', autocomplete: 'off' });
  const pass = h('input', { name: 'mqtt_password', type: 'password', value: initial?.password ?? '', autocomplete: 'new-password' });
  const prefix = h('input', { name: 'mqtt_prefix', value: initial?.prefix ?? 'vigil', autocomplete: 'off', spellcheck: 'false' });
  const clientId = h('input', { name: 'mqtt_client_id', value: initial?.client_id ?? 'vigil', maxlength: 23, autocomplete: 'off' });
  const discovery = h('input', { type: 'checkbox', name: 'mqtt_discovery', checked: initial?.discovery ?? true });
  const fields = h('div', { class: 'form-grid' },
    field('Broker host', host),
    field('Port', port, 'empty: 1883, or 8883 with TLS'),
    field('CA file (PEM)', ca, 'with TLS, for a private CA; empty: the system\'s trusted CAs'),
    field('User name', user, 'optional'),
    field('Password', pass, initial?.password === SECRET_MASK ? 'saved; leave as is to keep it' : 'optional'),
    field('Topic prefix', prefix, 'messages go to <prefix>/<camera>/<type>, tests to <prefix>/test'),
    field('Client id', clientId),
    h('label', { class: 'check' }, tls, ' TLS (MQTT over TLS)'),
    h('label', { class: 'check' }, discovery, ' Home Assistant discovery'),
  );
  const sync = () => {
    fields.hidden = !on.checked;
  };
  on.addEventListener('change', sync);
  sync();
  const values = (): MqttTarget => {
    const m: MqttTarget = { host: host.value.trim(), tls: tls.checked, discovery: discovery.checked };
    if (port.value.trim()) m.port = Number(port.value);
    if (ca.value.trim()) m.ca_file = ca.value.trim();
    if (user.value.trim()) m.username = user.value.trim();
    if (pass.value) m.password = pass.value;
    if (prefix.value.trim()) m.prefix = prefix.value.trim();
    if (clientId.value.trim()) m.client_id = clientId.value.trim();
    return m;
  };
  const message = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save MQTT');
  const test = h('button', { type: 'button', name: 'mqtt_test' }, 'Send test');
  test.addEventListener('click', () => {
    if (!on.checked || !host.value.trim()) {
      mount(message, notice('error', 'Name the broker first.'));
      return;
    }
    void runTest(test, message, { mqtt: values() });
  });
  const form = h('form', { class: 'card', 'aria-labelledby': 'mqtt-title' },
    h('h2', { id: 'mqtt-title' }, 'MQTT broker'),
    h('p', { class: 'small muted' }, 'Event states and messages for Home Assistant and other MQTT clients.'),
    h('label', { class: 'check' }, on, ' Send alerts to an MQTT broker'),
    fields,
    h('div', { class: 'row' }, save, test),
    message,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    mount(message, spinner('Saving…'));
    try {
      await api.setNotifications({ mqtt: on.checked ? values() : null });
      mount(message, notice('info', on.checked ? 'Saved: vigil connects to the broker now.' : 'Saved: MQTT is off.'));
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function webhookCard(initial: WebhookTarget[]): HTMLElement {
  const rows = h('div', {});
  const editors: { values: () => WebhookTarget; el: HTMLElement }[] = [];
  const add = (w: WebhookTarget | null) => {
    const n = ++uid;
    const url = h('input', { name: 'webhook_url', required: true, value: w?.url ?? '', placeholder: 'https://example.com/hook', autocomplete: 'off', spellcheck: 'false', id: `wh-url-${n}` });
    const secret = h('input', { name: 'webhook_secret', type: 'password', value: w?.secret ?? '', autocomplete: 'new-password' });
    const ca = h('input', { name: 'webhook_ca_file', value: w?.ca_file ?? '', placeholder: '/etc/vigil/hooks-ca.pem', autocomplete: 'off', spellcheck: 'false' });
    const types = kTypes.map((t) => h('input', { type: 'checkbox', value: t, checked: !w?.types?.length || w.types.includes(t) }));
    const result = h('div', { 'aria-live': 'polite' });
    const values = (): WebhookTarget => {
      const v: WebhookTarget = { url: url.value.trim() };
      if (secret.value) v.secret = secret.value;
      if (ca.value.trim()) v.ca_file = ca.value.trim();
      const picked = types.filter((t) => t.checked).map((t) => t.value);
      if (picked.length && picked.length < kTypes.length) v.types = picked;
      if (w?.timeout_ms) v.timeout_ms = w.timeout_ms;
      return v;
    };
    const test = h('button', { type: 'button', name: 'webhook_test' }, 'Send test');
    test.addEventListener('click', () => {
      if (!url.value.trim()) {
        mount(result, notice('error', 'Give the URL first.'));
        return;
      }
      void runTest(test, result, { webhook: values() });
    });
    const el = h('fieldset', { class: 'webhook', 'data-webhook': String(n) },
      h('legend', { class: 'sr-only' }, 'Webhook'),
      h('div', { class: 'form-grid' },
        field('URL', url, 'http:// or https://; vigil POSTs the event JSON'),
        field('Secret', secret, w?.secret === SECRET_MASK ? 'saved; leave as is to keep it' : 'signs each POST: X-Vigil-Signature: sha256=HMAC'),
        field('CA file (PEM)', ca, 'https:// with a private CA; empty: the system\'s trusted CAs'),
        h('fieldset', { class: 'checks-box' }, h('legend', { class: 'small' }, 'Event types'),
          h('div', { class: 'checks' }, types.map((t) => h('label', { class: 'check' }, t, ` ${t.value.replace('_', ' ')}`)))),
      ),
      h('div', { class: 'row' }, test, h('button', { type: 'button', class: 'danger', onclick: () => {
        const i = editors.findIndex((x) => x.el === el);
        if (i >= 0) editors.splice(i, 1);
        el.remove();
        if (!editors.length) mount(rows, empty());
      } }, 'Remove')),
      result,
    );
    if (!editors.length) rows.replaceChildren();
    editors.push({ values, el });
    rows.append(el);
    return url;
  };
  const empty = () => notice('empty', 'No webhooks yet.');
  if (initial.length) initial.forEach(add);
  else mount(rows, empty());
  const message = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save webhooks');
  const form = h('form', { class: 'card', 'aria-labelledby': 'wh-title' },
    h('h2', { id: 'wh-title' }, 'Webhooks'),
    h('p', { class: 'small muted' }, 'Each event start and end is POSTed as JSON to every webhook; failures are retried.'),
    rows,
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => add(null).focus() }, 'Add a webhook'), save),
    message,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    mount(message, spinner('Saving…'));
    try {
      const t = await api.setNotifications({ webhooks: editors.map((x) => x.values()) });
      mount(message, notice('info', `Saved: ${t.webhooks.length} webhook${t.webhooks.length === 1 ? '' : 's'}.`));
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

export function notificationsSettings(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  mount(root, h('h1', {}, 'Notifications'), spinner('Loading the notification targets…'));
  api
    .notifications()
    .then((t) => {
      if (stopped) return;
      mount(root, h('h1', {}, 'Notifications'), mqttCard(t.mqtt), webhookCard(t.webhooks));
    })
    .catch((e: Error) => {
      if (!stopped) mount(root, h('h1', {}, 'Notifications'), notice('error', `Cannot load the notification targets: ${e.message}`));
    });
  return () => {
    stopped = true;
  };
}
