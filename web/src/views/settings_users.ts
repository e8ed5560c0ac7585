// Admin: users, their role and the cameras they may see (/api/users).
import { api, type Camera, type Role, type User } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';

const roles: Role[] = ['viewer', 'operator', 'admin'];

function camerasText(c: string[]): string {
  return c.includes('*') ? 'all cameras' : c.length ? c.join(', ') : 'no cameras';
}

// "*" or "all" -> every camera (["*"]); "" -> none; otherwise a comma-separated list of ids.
function parseCameras(text: string): string[] {
  const t = text.trim();
  if (t === '*' || t.toLowerCase() === 'all') return ['*'];
  return t.split(/[\s,]+/).filter(Boolean);
}

export function usersSettings(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  let cameras: Camera[] = [];
  const message = h('div', { 'aria-live': 'polite' });
  const list = h('div', {});

  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const role = h('select', { name: 'role' }, roles.map((r) => h('option', { value: r }, r)));
  // Cameras: every camera (also those added later), or the ones ticked.
  const allCams = h('input', { type: 'checkbox', name: 'all_cameras', checked: true });
  const camBoxes = h('div', { class: 'checks' });
  const syncBoxes = () =>
    camBoxes.querySelectorAll('input').forEach((b) => ((b as HTMLInputElement).disabled = allCams.checked));
  allCams.addEventListener('change', syncBoxes);
  const chosenCameras = (): string[] =>
    allCams.checked ? ['*'] : [...camBoxes.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value);
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add user');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'user-form-title' },
    h('h2', { id: 'user-form-title' }, 'Add a user'),
    h('div', { class: 'form-grid' },
      h('label', { class: 'field' }, h('span', {}, 'User name'), name),
      h('label', { class: 'field' }, h('span', {}, 'Password (at least 8 characters)'), password),
      h('label', { class: 'field' }, h('span', {}, 'Role'), role, h('small', { class: 'muted' }, 'viewer: watch; operator: also export; admin: everything')),
      h('fieldset', { class: 'field cams' }, h('legend', {}, 'Cameras'),
        h('label', { class: 'check' }, allCams, ' All cameras, also future ones'), camBoxes),
    ),
    add,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    add.disabled = true;
    try {
      await api.addUser({ name: name.value.trim(), password: password.value, role: role.value as Role, cameras: chosenCameras() });
      mount(message, notice('info', `User ${name.value.trim()} added.`));
      form.reset();
      syncBoxes();
      void load();
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
    } finally {
      add.disabled = false;
    }
  });
  mount(root, h('h1', {}, 'Users'), form, message, list);

  const row = (u: User) => {
    const roleSel = h('select', { 'aria-label': `Role of ${u.name}` }, roles.map((r) => h('option', { value: r }, r)));
    roleSel.value = u.role;
    // Demoting an admin needs the cameras said (the API refuses to guess): none, until given.
    roleSel.addEventListener('change', () => void change(u, u.role === 'admin' && roleSel.value !== 'admin' ? { role: roleSel.value as Role, cameras: [] } : { role: roleSel.value as Role }, () => (roleSel.value = u.role)));
    const camsIn = h('input', { 'aria-label': `Cameras of ${u.name}`, value: u.cameras.join(', '), placeholder: 'none (* for all)' });
    camsIn.addEventListener('change', () => void change(u, { cameras: parseCameras(camsIn.value) }));
    return h(
      'tr',
      { 'data-user': u.name },
      h('td', {}, h('strong', {}, u.name), u.name === ctx.me.name ? h('span', { class: 'muted small' }, ' (you)') : null),
      h('td', {}, roleSel),
      h('td', {}, camsIn, h('div', { class: 'muted small' }, camerasText(u.cameras))),
      h('td', { 'data-totp': u.totp ? 'on' : 'off' }, u.totp ? 'TOTP' : h('span', { class: 'muted' }, 'password only')),
      h('td', { class: 'actions' }, h('button', {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!confirm(`Remove ${u.name} with their sessions and API tokens?`)) return;
          try {
            await api.removeUser(u.name);
            void load();
          } catch (err) {
            mount(message, notice('error', (err as Error).message));
          }
        },
      }, 'Remove')),
    );
  };

  const change = async (u: User, body: Parameters<typeof api.changeUser>[1], undo?: () => void) => {
    try {
      await api.changeUser(u.name, body);
      mount(message, notice('info', `${u.name} changed.`));
      void load();
    } catch (err) {
      undo?.();
      mount(message, notice('error', (err as Error).message));
    }
  };

  const load = async () => {
    mount(list, spinner('Loading users…'));
    try {
      const [users, cs] = await Promise.all([api.users(), api.cameras()]);
      cameras = cs;
      if (stopped) return;
      const ticked = new Set([...camBoxes.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value));
      mount(camBoxes, cameras.map((c) =>
        h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'camera', value: c.id, checked: ticked.has(c.id) }), ` ${c.name} (${c.id})`)));
      syncBoxes();
      mount(
        list,
        h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Role'), h('th', {}, 'Cameras'), h('th', {}, 'Second factor'), h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))),
          h('tbody', {}, users.map(row))),
        h('p', { class: 'muted small' }, `Camera ids: ${cameras.map((c) => c.id).join(', ') || 'none yet'}`),
      );
    } catch (e) {
      mount(list, notice('error', `Cannot list the users: ${(e as Error).message}`));
    }
  };
  void load();
  return () => {
    stopped = true;
  };
}
