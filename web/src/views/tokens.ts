// API tokens, for scripts and other programs (Authorization: Bearer): one's own (an admin sees
// everyone's), with scope, creation, expiry and last use, so that unused ones can be revoked;
// a new one needs the password again and is shown once (GET/POST/DELETE /api/tokens).
import { api, type ApiToken } from '../api';
import { isAdmin, type Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { formatDateTime } from '../time';

const when = (iso: string | null, none: string) => (iso ? formatDateTime(Date.parse(iso)) : none);

export function tokensScreen(root: HTMLElement, ctx: Ctx): void {
  const admin = isAdmin(ctx.me);
  const list = h('div', {}, spinner());
  const listMessage = h('div', { 'aria-live': 'polite' });

  const load = async () => {
    try {
      show(await api.tokens());
    } catch (err) {
      mount(list, notice('error', (err as Error).message));
    }
  };

  const show = (tokens: ApiToken[]) => {
    if (tokens.length === 0) {
      mount(list, notice('empty', 'No API tokens.'));
      return;
    }
    const row = (t: ApiToken) => {
      const revoke = h('button', { type: 'button' }, 'Revoke');
      revoke.addEventListener('click', async () => {
        if (!confirm(`Revoke the token "${t.name}"? Programs using it lose access at once.`)) return;
        revoke.disabled = true;
        try {
          await api.revokeToken(t.id);
          mount(listMessage, notice('info', `Token "${t.name}" revoked.`));
          await load();
        } catch (err) {
          mount(listMessage, notice('error', (err as Error).message));
          revoke.disabled = false;
        }
      });
      return h(
        'tr',
        { 'data-token': t.id },
        h('td', {}, t.name),
        admin ? h('td', {}, t.user) : null,
        h('td', {}, t.scope),
        h('td', { class: 'nowrap' }, when(t.created, '')),
        h('td', { class: 'nowrap' }, when(t.expires, 'never')),
        h('td', { class: 'nowrap' }, when(t.last_used, 'never')),
        h('td', { class: 'actions' }, revoke),
      );
    };
    mount(
      list,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table', 'aria-label': 'API tokens' },
          h('thead', {}, h('tr', {}, ['Name', admin ? 'User' : null, 'Scope', 'Created', 'Expires', 'Last used', ''].map((c) => (c === null ? null : h('th', {}, c))))),
          h('tbody', {}, tokens.map(row)),
        ),
      ),
    );
  };

  const name = h('input', { name: 'token-name', required: true, maxlength: 64, autocomplete: 'off' });
  const scope = h(
    'select',
    { name: 'token-scope' },
    h('option', { value: 'full' }, 'full: everything you may do'),
    admin ? h('option', { value: 'metrics' }, 'metrics: read /metrics only (Prometheus)') : null,
  );
  const days = h('input', { name: 'token-days', type: 'number', min: 1, max: 3650, placeholder: 'never' });
  const password = h('input', { name: 'token-password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('div', { 'aria-live': 'polite' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create token');
  const form = h(
    'form',
    { class: 'card auth', 'aria-labelledby': 'new-token-title' },
    h('h2', { id: 'new-token-title' }, 'New token'),
    h('label', { class: 'field' }, h('span', {}, 'Name (what uses it)'), name),
    h('label', { class: 'field' }, h('span', {}, 'Scope'), scope),
    h('label', { class: 'field' }, h('span', {}, 'Expires after (days; empty: never)'), days),
    h('label', { class: 'field' }, h('span', {}, 'Your password'), password),
    message,
    create,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    create.disabled = true;
    try {
      const t = await api.createToken({
        name: name.value.trim(),
        password: password.value,
        scope: scope.value,
        expires_days: days.value ? Number(days.value) : undefined,
      });
      form.reset();
      mount(
        message,
        notice('info', `Token "${t.name}" created. Copy it now: it is shown only once.`, h('p', {}, h('code', { class: 'new-token' }, t.token))),
      );
      await load();
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
    } finally {
      create.disabled = false;
    }
  });

  mount(
    root,
    h('h1', {}, 'API tokens'),
    h('p', { class: 'muted' }, 'A token lets a script act as you (', h('code', {}, 'Authorization: Bearer …'), '). Revoke the ones nothing uses any more.'),
    listMessage,
    list,
    form,
  );
  void load();
}
