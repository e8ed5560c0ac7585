// Admin: add, change and remove cameras (POST/PATCH/DELETE /api/cameras): connection, recording
// mode, retention, analysis, zones and masks drawn on the camera's picture, and alert schedules.
// vigil validates the whole configuration and answers what is wrong in its own words, which the
// form shows as is.
import { api, type Camera } from '../api';
import type { Ctx } from '../app';
import { findCameras } from '../camera_discovery';
import { probeButton } from '../camera_probe';
import { h, mount, notice, spinner } from '../dom';
import { scheduleEditor } from '../schedule_editor';
import { describeStatus } from '../status';
import { zoneEditor } from '../zone_editor';

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

function section(title: string, id: string, ...content: HTMLElement[]): HTMLElement {
  return h('section', { class: 'form-section', 'aria-labelledby': id }, h('h3', { id }, title), ...content);
}

export function camerasSettings(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  const list = h('div', {});
  const formBox = h('div', {});
  mount(root, h('h1', {}, 'Cameras'), formBox, list);

  let scheduleZone: string | null = null; // the recorder's schedule time zone, from any camera's detail

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
    const record = h('select', { name: 'record' }, h('option', { value: 'continuous' }, 'Continuous: keep everything'), h('option', { value: 'events' }, 'Events: keep footage around events only'));
    record.value = cam?.record ?? 'continuous';
    const days = h('input', { name: 'max_days', type: 'number', min: 1, value: cam?.retention?.max_days ?? '', placeholder: 'default' });

    const a = cam?.analysis;
    const analysisOn = h('input', { name: 'analysis_enabled', type: 'checkbox', checked: a?.enabled ?? false });
    const sensitivity = h('input', { name: 'sensitivity', id: 'cam-sensitivity', type: 'range', min: 1, max: 100, step: 1, value: a?.sensitivity ?? 60 });
    const sensitivityOut = h('output', { for: 'cam-sensitivity' }, String(sensitivity.value));
    sensitivity.addEventListener('input', () => (sensitivityOut.textContent = sensitivity.value));
    const minArea = h('input', { name: 'min_area', type: 'number', min: 0.01, max: 50, step: 0.01, value: Math.round((a?.min_area ?? 0.002) * 10000) / 100 });
    const tamper = h('input', { name: 'tamper', type: 'checkbox', checked: a?.tamper ?? true });

    const schedules = scheduleEditor(cam?.schedules ?? [], cam ? cam.schedule_time_zone ?? null : scheduleZone);
    const zoneNames = (zs: { name: string; mask?: boolean }[]) => zs.filter((z) => !z.mask).map((z) => z.name);
    const zones = zoneEditor(cam?.zones ?? [], (zs) => schedules.setZones(zoneNames(zs)));
    schedules.setZones(zoneNames(cam?.zones ?? []));
    if (cam) {
      zones.setPicture(`${api.snapshotUrl(cam.id)}?t=${Date.now()}`);
      zones.element.querySelector('img')?.addEventListener('error', () =>
        zones.setPicture(null, 'No picture: the camera is not streaming now. Test the connection to get one.'), { once: true });
    } else {
      zones.setPicture(null);
    }
    const probe = probeButton(
      () => ({ url: url.value.trim(), camera: cam?.id, transport: transport.value, rtsp_client: client.value }),
      (src) => zones.setPicture(src),
    );

    const message = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, isNew ? 'Add camera' : 'Save');
    const form = h(
      'form',
      { class: 'card camera-form', 'aria-labelledby': 'cam-form-title' },
      h('h2', { id: 'cam-form-title' }, isNew ? 'Add a camera' : `Edit ${cam.name}`),
      section('Connection', 'cam-sec-conn',
        ...(isNew ? [findCameras((c) => {
          if (!name.value) name.value = c.name;
          url.value = c.url;
          subUrl.value = c.sub_url;
        })] : []),
        h('div', { class: 'form-grid' },
          field('Id', id, 'a-z, 0-9, _ and -; recordings are filed under it and it cannot change'),
          field('Name', name, 'for people; the id when empty'),
          field('Stream URL', url, 'rtsp:// or rtsps://; the main stream, recorded'),
          field('Sub-stream URL', subUrl, 'optional; analysed instead of the main stream'),
          field('Transport', transport),
          field('RTSP client', client, 'FFmpeg is the fallback for a camera the native client cannot talk to'),
          h('label', { class: 'check' }, enabled, ' Enabled'),
        ),
        probe.element,
      ),
      section('Recording', 'cam-sec-rec',
        h('div', { class: 'form-grid' },
          field('Recording mode', record, 'events: recorded all the time, but only footage around events is kept'),
          field('Keep recordings for (days)', days),
        ),
      ),
      section('Motion and tamper detection', 'cam-sec-analysis',
        h('label', { class: 'check' }, analysisOn, ' Detect motion and tampering (costs a video decoder: give the camera a sub stream)'),
        h('div', { class: 'form-grid' },
          h('label', { class: 'field' }, h('span', {}, 'Sensitivity ', sensitivityOut), sensitivity, h('small', { class: 'muted' }, 'higher finds fainter and smaller changes, and more noise')),
          field('Smallest moving area (% of the picture)', minArea),
          h('label', { class: 'check' }, tamper, ' Tamper alerts: covered, defocused, moved'),
        ),
      ),
      section('Zones and masks', 'cam-sec-zones', zones.element),
      section('Alert schedules', 'cam-sec-sched', schedules.element),
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
        record: record.value,
        analysis: {
          enabled: analysisOn.checked,
          sensitivity: Number(sensitivity.value),
          min_area: Math.round(Number(minArea.value) * 100) / 10000,
          tamper: tamper.checked,
        },
        zones: zones.zones(),
        schedules: schedules.schedules(),
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
      const detail = cams.find((c) => c.schedule_time_zone !== undefined);
      if (detail) scheduleZone = detail.schedule_time_zone ?? null;
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
