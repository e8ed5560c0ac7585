// Admin: add, change and remove cameras (POST/PATCH/DELETE /api/cameras). vigil validates the
// whole configuration and answers what is wrong in its own words, which the form shows as is.
import { api, type Camera } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { describeStatus } from '../status';

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

export function camerasSettings(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  const list = h('div', {});
  const formBox = h('div', {});
  mount(root, h('h1', {}, 'Cameras'), formBox, list);

  const showForm = (cam: Camera | null) => {
    const isNew = cam === null;
    const id = h('input', { name: 'id', required: true, value: cam?.id ?? '', disabled: !isNew, pattern: '[a-z0-9][a-z0-9_\\-]{0,31}', autocomplete: 'off' });
    const name = h('input', { name: 'name', value: cam?.name ?? '', autocomplete: 'off' });
    const url = h('input', { name: 'url', required: true, value: cam?.url ?? '', placeholder: 'rtsp://user:password@192.0.2.10:554/stream1', autocomplete: 'off', spellcheck: 'false' });
    const subUrl = h('input', { name: 'sub_url', value: cam?.sub_url ?? '', autocomplete: 'off', spellcheck: 'false' });
    const enabled = h('input', { name: 'enabled', type: 'checkbox', checked: cam?.enabled ?? true });
    const transport = h('select', { name: 'transport' }, h('option', { value: 'tcp' }, 'TCP'), h('option', { value: 'udp' }, 'UDP'));
    transport.value = cam?.transport ?? 'tcp';
    const client = h('select', { name: 'rtsp_client' }, h('option', { value: 'native' }, 'vigil (native)'), h('option', { value: 'ffmpeg' }, 'FFmpeg'));
    client.value = cam?.rtsp_client ?? 'native';
    const days = h('input', { name: 'max_days', type: 'number', min: 1, value: cam?.retention?.max_days ?? '', placeholder: 'default' });
    const message = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, isNew ? 'Add camera' : 'Save');
    const form = h(
      'form',
      { class: 'card', 'aria-labelledby': 'cam-form-title' },
      h('h2', { id: 'cam-form-title' }, isNew ? 'Add a camera' : `Edit ${cam.name}`),
      h('div', { class: 'form-grid' },
        field('Id', id, 'a-z, 0-9, _ and -; recordings are filed under it and it cannot change'),
        field('Name', name, 'for people; the id when empty'),
        field('Stream URL', url, 'rtsp:// or rtsps://; the main stream, recorded'),
        field('Sub-stream URL', subUrl, 'optional'),
        field('Transport', transport),
        field('RTSP client', client, 'FFmpeg is the fallback for a camera the native client cannot talk to'),
        field('Keep recordings for (days)', days),
        h('label', { class: 'check' }, enabled, ' Enabled'),
      ),
      message,
      h('div', { class: 'row' }, save, h('button', { type: 'button', onclick: () => mount(formBox, addButton()) }, 'Cancel')),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body: Record<string, unknown> = {
        name: name.value.trim() || null,
        url: url.value.trim(),
        enabled: enabled.checked,
        transport: transport.value,
        rtsp_client: client.value,
      };
      if (!subUrl.value.trim()) body.sub_url = isNew ? undefined : null;
      else body.sub_url = subUrl.value.trim();
      const d = days.value.trim();
      if (d) body.retention = { max_days: Number(d) };
      else if (!isNew && cam?.retention?.max_days != null) body.retention = { max_days: null };
      if (isNew) {
        body.id = id.value.trim();
        if (body.name === null) delete body.name;
        if (body.sub_url === undefined) delete body.sub_url;
      }
      save.disabled = true;
      mount(message, spinner('Saving…'));
      try {
        if (isNew) await api.addCamera(body);
        else await api.changeCamera(cam.id, body);
        mount(formBox, addButton(), notice('info', isNew ? `Camera ${String(body.id)} added: it connects now.` : 'Saved.'));
        void load();
      } catch (err) {
        mount(message, notice('error', (err as Error).message));
        save.disabled = false;
      }
    });
    mount(formBox, form);
    (isNew ? id : name).focus();
  };

  const addButton = () => h('button', { type: 'button', class: 'primary', onclick: () => showForm(null) }, 'Add a camera');

  const load = async () => {
    mount(list, spinner('Loading cameras…'));
    try {
      const cams = await Promise.all((await api.cameras()).map((c) => api.camera(c.id).catch(() => c)));
      if (stopped) return;
      if (!cams.length) {
        mount(list, notice('empty', 'No cameras yet: add the first one above.'));
        return;
      }
      mount(
        list,
        h(
          'table',
          { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Camera'), h('th', {}, 'URL'), h('th', {}, 'Status'), h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))),
          h(
            'tbody',
            {},
            cams.map((c) => {
              const v = describeStatus(c);
              return h(
                'tr',
                { 'data-camera': c.id },
                h('td', {}, h('strong', {}, c.name), h('br'), h('code', { class: 'small' }, c.id)),
                h('td', { class: 'url' }, h('code', { class: 'small' }, c.url ?? '')),
                h('td', {}, h('span', { class: `badge ${v.kind}` }, v.label), v.problem ? h('div', { class: 'problem small' }, v.problem) : null),
                h(
                  'td',
                  { class: 'actions' },
                  h('button', { type: 'button', onclick: () => showForm(c) }, 'Edit'),
                  h('button', {
                    type: 'button',
                    class: 'danger',
                    onclick: async () => {
                      if (!confirm(`Stop recording ${c.name}? Its recordings are kept until retention removes them.`)) return;
                      try {
                        await api.removeCamera(c.id);
                        void load();
                      } catch (err) {
                        mount(formBox, addButton(), notice('error', (err as Error).message));
                      }
                    },
                  }, 'Remove'),
                ),
              );
            }),
          ),
        ),
      );
    } catch (e) {
      mount(list, notice('error', `Cannot list the cameras: ${(e as Error).message}`));
    }
  };
  mount(formBox, addButton());
  void load();
  return () => {
    stopped = true;
  };
}
