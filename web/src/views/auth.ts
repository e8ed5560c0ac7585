// The login screen and first-run setup (the first admin, with the setup token vigil logs at
// its first start: docs/api.md "First start").
import { api, ApiError, type Me } from '../api';
import { h, mount, notice } from '../dom';

function field(label: string, input: HTMLInputElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

function busy(button: HTMLButtonElement, on: boolean, text: string): void {
  button.disabled = on;
  button.textContent = text;
  button.setAttribute('aria-busy', String(on));
}

export function loginScreen(root: HTMLElement, done: (me: Me) => void, showSetup: () => void): void {
  const name = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  // Shown once the server says the account has a second factor (error "code_required").
  const code = h('input', { name: 'code', autocomplete: 'one-time-code', spellcheck: 'false', required: true });
  const codeField = field('Code from your authenticator app (or a recovery code)', code);
  codeField.hidden = true;
  code.disabled = true;
  const message = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h(
    'form',
    { class: 'card auth', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'vigil'),
    h('p', { class: 'muted' }, 'Log in to watch your cameras.'),
    field('User name', name),
    field('Password', password),
    codeField,
    message,
    button,
    h('p', { class: 'muted small' }, 'First start? ', h('a', { href: '#/setup', onclick: (e: Event) => { e.preventDefault(); showSetup(); } }, 'Create the first admin account')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    busy(button, true, 'Logging in…');
    mount(message);
    try {
      await api.login(name.value.trim(), password.value, codeField.hidden ? undefined : code.value.trim());
      // /api/me says more than the login's answer (the second factor's state).
      done(await api.me());
    } catch (err) {
      busy(button, false, 'Log in');
      if (err instanceof ApiError && err.code === 'code_required') {
        codeField.hidden = false;
        code.disabled = false;
        mount(message, notice('info', 'This account has a second factor: enter the code your app shows.'));
        code.focus();
        return;
      }
      const text =
        err instanceof ApiError && err.code === 'wrong_code'
          ? 'Wrong or already used code.'
          : err instanceof ApiError && err.status === 401
            ? 'Wrong user name or password.'
            : (err as Error).message;
      mount(message, notice('error', text));
      if (!codeField.hidden && err instanceof ApiError && err.code === 'wrong_code') code.select();
      else password.select();
    }
  });
  mount(root, h('main', { class: 'center' }, form));
  name.focus();
}

export function setupScreen(root: HTMLElement, done: (me: Me) => void, showLogin: () => void, initialToken = ''): void {
  const token = h('input', { name: 'token', autocomplete: 'off', required: true, spellcheck: 'false', value: initialToken });
  const name = h('input', { name: 'username', autocomplete: 'username', required: true, value: 'admin' });
  const password = h('input', { name: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const message = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Create admin');
  const form = h(
    'form',
    { class: 'card auth', 'aria-labelledby': 'setup-title' },
    h('h1', { id: 'setup-title' }, 'First start'),
    h('p', { class: 'muted' }, 'vigil printed a one-time setup token in its log when it started ("no users yet: … setup token …"). Paste it here to create the first admin.'),
    field('Setup token', token),
    field('Admin user name', name),
    field('Password (at least 8 characters)', password),
    message,
    button,
    h('p', { class: 'muted small' }, h('a', { href: '#/login', onclick: (e: Event) => { e.preventDefault(); showLogin(); } }, 'Back to log in')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    busy(button, true, 'Creating…');
    mount(message);
    try {
      done(await api.setup(token.value.trim(), name.value.trim(), password.value));
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
      busy(button, false, 'Create admin');
    }
  });
  mount(root, h('main', { class: 'center' }, form));
  (initialToken ? password : token).focus();
}
