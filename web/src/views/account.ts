// One's own account: who am I, the second factor (TOTP: enrol with a QR code and a first code,
// recovery codes shown once, turn off with the password; docs/design/security.md, "Second
// factor"), a new password (POST /api/me/password, which ends the other sessions and answers a
// new one for this browser), and a link to one's API tokens.
import qrcode from 'qrcode-generator';
import { api, request, setCsrfToken, type Me } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice } from '../dom';

// The otpauth:// URI as a QR code on a canvas (drawn, not an <img> from a data: URL, which the
// CSP would refuse). Dark modules on white with a 4-module quiet zone (ISO/IEC 18004 §6.3.8).
function qrCanvas(text: string): HTMLCanvasElement {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const cell = 5;
  const size = (n + 8) * cell;
  const canvas = h('canvas', { width: size, height: size, class: 'qr', role: 'img', 'aria-label': 'QR code for an authenticator app' });
  const g = canvas.getContext('2d');
  if (g) {
    g.fillStyle = '#fff';
    g.fillRect(0, 0, size, size);
    g.fillStyle = '#000';
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) if (qr.isDark(r, c)) g.fillRect((c + 4) * cell, (r + 4) * cell, cell, cell);
    }
  }
  return canvas;
}

function passwordInput(name: string): HTMLInputElement {
  return h('input', { name, type: 'password', autocomplete: 'current-password', required: true });
}

function secondFactorCard(ctx: Ctx): HTMLElement {
  const card = h('section', { class: 'card', 'aria-labelledby': 'tfa-title' });
  const title = h('h2', { id: 'tfa-title' }, 'Two-factor authentication');
  const message = h('div', { 'aria-live': 'polite' });

  const showOff = () => {
    const password = passwordInput('tfa-password');
    const start = h('button', { type: 'submit', class: 'primary' }, 'Set up two-factor authentication');
    const form = h(
      'form',
      { class: 'auth' },
      ctx.me.must_enrol_totp
        ? notice('info', 'This server requires admins to use a second factor: set it up to continue.')
        : h('p', { class: 'muted' }, 'Off. With it on, logging in also needs a code from an authenticator app on your phone.'),
      h('label', { class: 'field' }, h('span', {}, 'Your password'), password),
      message,
      start,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      start.disabled = true;
      try {
        const { secret, uri } = await api.beginTotp(password.value);
        mount(message);
        showEnrol(secret, uri);
      } catch (err) {
        mount(message, notice('error', (err as Error).message));
        start.disabled = false;
      }
    });
    mount(card, title, form);
  };

  const showEnrol = (secret: string, uri: string) => {
    const code = h('input', { name: 'totp-code', autocomplete: 'one-time-code', inputmode: 'numeric', pattern: '[0-9]{6}', required: true });
    const confirm = h('button', { type: 'submit', class: 'primary' }, 'Confirm');
    const form = h(
      'form',
      { class: 'auth' },
      h('p', {}, 'Scan this code with an authenticator app (Aegis, FreeOTP, Google Authenticator, 1Password…), or type the key in it.'),
      qrCanvas(uri),
      h('p', { class: 'small' }, 'Key: ', h('code', { class: 'totp-secret' }, secret.replace(/(.{4})/g, '$1 ').trim())),
      h('p', { class: 'small muted' }, h('code', { class: 'totp-uri' }, uri)),
      h('label', { class: 'field' }, h('span', {}, 'The 6-digit code the app shows'), code),
      message,
      confirm,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      confirm.disabled = true;
      try {
        const { recovery_codes } = await api.confirmTotp(code.value.trim());
        mount(message);
        showRecovery(recovery_codes);
      } catch (err) {
        mount(message, notice('error', (err as Error).message));
        confirm.disabled = false;
        code.select();
      }
    });
    mount(card, title, form);
    code.focus();
  };

  const showRecovery = (codes: string[]) => {
    const done = h('button', { type: 'button', class: 'primary' }, 'I have saved them');
    done.addEventListener('click', () => void ctx.refreshMe());
    mount(
      card,
      title,
      notice('info', 'Two-factor authentication is on.'),
      h('p', {}, 'Recovery codes: each logs you in once instead of a code, if you lose your phone. Keep them somewhere safe; they are shown only now.'),
      h('ul', { class: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
      done,
    );
  };

  const showOn = () => {
    const password = passwordInput('tfa-off-password');
    const off = h('button', { type: 'submit' }, 'Turn off');
    const form = h(
      'form',
      { class: 'auth' },
      h('p', {}, `On. ${ctx.me.recovery_codes_left ?? 0} unused recovery codes left.`),
      h('label', { class: 'field' }, h('span', {}, 'Your password, to turn it off'), password),
      message,
      off,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      off.disabled = true;
      try {
        await api.disableTotp(password.value);
        await ctx.refreshMe();
      } catch (err) {
        mount(message, notice('error', (err as Error).message));
        off.disabled = false;
      }
    });
    mount(card, title, form);
  };

  if (ctx.me.totp) showOn();
  else showOff();
  return card;
}

export function accountScreen(root: HTMLElement, ctx: Ctx): void {
  const current = h('input', { name: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const message = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Change password');
  const form = h(
    'form',
    { class: 'card auth', 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title' }, 'Change password'),
    h('label', { class: 'field' }, h('span', {}, 'Current password'), current),
    h('label', { class: 'field' }, h('span', {}, 'New password (at least 8 characters)'), next),
    message,
    save,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      const me = await request<Me>('POST', '/api/me/password', { current_password: current.value, new_password: next.value });
      setCsrfToken(me.csrf_token);
      form.reset();
      mount(message, notice('info', 'Password changed. Your other sessions are logged out.'));
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
    } finally {
      save.disabled = false;
    }
  });
  const cams = ctx.me.cameras.includes('*') || ctx.me.role === 'admin' ? 'every camera' : ctx.me.cameras.join(', ') || 'no cameras';
  mount(
    root,
    h('h1', {}, 'Account'),
    h('p', {}, `${ctx.me.name}, ${ctx.me.role}, may see ${cams}.`),
    secondFactorCard(ctx),
    ctx.me.must_enrol_totp ? null : [form, h('p', {}, h('a', { href: '#/tokens' }, 'API tokens'), ' for scripts and other programs.')],
  );
}
