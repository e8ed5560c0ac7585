// One's own account: who am I, and a new password (POST /api/me/password, which ends the
// other sessions and answers a new one for this browser).
import { request, setCsrfToken, type Me } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice } from '../dom';

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
  mount(root, h('h1', {}, 'Account'), h('p', {}, `${ctx.me.name}, ${ctx.me.role}, may see ${cams}.`), form);
}
