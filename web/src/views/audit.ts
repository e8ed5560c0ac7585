// Admin: the audit log (GET /api/audit), newest first, filtered and paged.
import { api, type AuditEntry } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { formatDateTime } from '../time';

export function auditScreen(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  const user = h('input', { name: 'user', autocomplete: 'off' });
  const action = h('input', { name: 'action', autocomplete: 'off', list: 'audit-actions' });
  const camera = h('input', { name: 'camera', autocomplete: 'off' });
  const actions = ['setup', 'login', 'login_failed', 'logout', 'password_change', 'user_add', 'user_change', 'user_delete',
    'token_create', 'token_revoke', 'playback', 'export', 'live_start', 'live_stop', 'camera_add', 'camera_change', 'camera_remove',
    'hold_add', 'hold_release'];
  const body = h('tbody', {});
  const status = h('div', { 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true }, 'Older entries');
  let before: number | null = null;

  const rowOf = (e: AuditEntry) =>
    h('tr', {},
      h('td', { class: 'nowrap' }, formatDateTime(e.at_ms)),
      h('td', {}, e.user ?? '—'),
      h('td', {}, h('code', {}, e.action)),
      h('td', {}, e.camera ?? ''),
      h('td', {}, e.detail),
      h('td', { class: 'small muted' }, e.address));

  const load = async (append: boolean) => {
    if (!append) {
      before = null;
      body.replaceChildren();
    }
    mount(status, spinner());
    try {
      const r = await api.audit({ user: user.value.trim(), action: action.value.trim(), camera: camera.value.trim(), before_id: before ?? undefined, limit: 100 });
      if (stopped) return;
      body.append(...r.entries.map(rowOf));
      before = r.next_before_id;
      more.hidden = before === null;
      mount(status, !body.children.length ? notice('empty', 'No entries match.') : null);
    } catch (e) {
      mount(status, notice('error', (e as Error).message));
    }
  };
  const form = h('form', { class: 'row filters', role: 'search', 'aria-label': 'Filter the audit log' },
    h('label', { class: 'field' }, h('span', {}, 'User'), user),
    h('label', { class: 'field' }, h('span', {}, 'Action'), action),
    h('datalist', { id: 'audit-actions' }, actions.map((a) => h('option', { value: a }))),
    h('label', { class: 'field' }, h('span', {}, 'Camera'), camera),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load(false);
  });
  more.addEventListener('click', () => void load(true));
  mount(root, h('h1', {}, 'Audit log'), form,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['Time', 'User', 'Action', 'Camera', 'Detail', 'Address'].map((t) => h('th', {}, t)))), body)),
    status, more);
  void load(false);
  return () => {
    stopped = true;
  };
}
