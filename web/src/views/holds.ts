// Evidence holds: every hold on the cameras the user may see (active, or all) with the bytes of
// footage it keeps per camera, a form to put a
// new one (operators and admins: cameras, from, to, name, reason), and Release for admins.
// Holds on a timeline selection are put from the playback screen (hold_form.ts). Operators export
// a hold as evidence bundles, one per camera (POST /api/holds/{id}/export).
import { api, type Camera, type Hold } from '../api';
import { isAdmin, mayExport, type Ctx } from '../app';
import { formatBytes } from '../bytes';
import { h, mount, notice, spinner } from '../dom';
import { exportLinkText, waitForExport } from '../export_job';
import { holdForm } from '../hold_form';
import { dateTimeInputValue, formatDateTime, parseDateTimeInput } from '../time';

export function holdsScreen(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const showReleased = h('input', { type: 'checkbox', name: 'released' });
  const list = h('div', { 'aria-live': 'polite' });
  const formSlot = h('div', {});
  mount(root, h('h1', {}, 'Evidence holds'),
    h('p', { class: 'muted small' }, 'Footage and events under a hold are never deleted by retention, not even when the disk is full (recording stops instead). Only an admin can release a hold.'),
    formSlot,
    h('section', { class: 'card', 'aria-labelledby': 'holds-title' },
      h('h2', { id: 'holds-title' }, 'Holds'),
      h('label', { class: 'small' }, showReleased, ' show released holds'),
      list));

  const rowOf = (hold: Hold) => {
    const release = isAdmin(ctx.me) && hold.released_ms === null
      ? h('button', { type: 'button', 'data-release': hold.id }, 'Release')
      : null;
    release?.addEventListener('click', async () => {
      if (!confirm(`Release hold "${hold.name}"? Retention may then delete its footage.`)) return;
      release.disabled = true;
      try {
        await api.releaseHold(hold.id);
        void load();
      } catch (e) {
        mount(list, notice('error', (e as Error).message));
      }
    });
    const exportOut = h('div', { class: 'small', 'aria-live': 'polite' });
    const exportButton = mayExport(ctx.me)
      ? h('button', { type: 'button', 'aria-label': `Export evidence bundles of hold ${hold.name}` }, 'Export evidence')
      : null;
    exportButton?.addEventListener('click', async () => {
      exportButton.disabled = true;
      mount(exportOut, spinner('Exporting…'));
      try {
        const r = await api.exportHold(hold.id);
        const links = await Promise.all(r.exports.map(async (job) => {
          const done = await waitForExport(job, () => {}, () => !stopped);
          return done ? h('div', {}, h('a', { href: api.exportFileUrl(done.id), download: '', class: 'button' }, `${job.camera ?? ''}: ${exportLinkText(done)}`)) : null;
        }));
        mount(exportOut, links, r.skipped.map((s) => notice('info', `${s.camera}: ${s.error}`)));
      } catch (e) {
        mount(exportOut, notice('error', `Export failed: ${(e as Error).message}`));
      } finally {
        exportButton.disabled = false;
      }
    });
    return h('tr', { 'data-hold': hold.id },
      h('td', {}, hold.name, h('div', { class: 'small muted' }, hold.reason), exportButton, exportOut),
      h('td', {}, hold.cameras.map((c) => h('div', { 'data-camera': c },
        c, hold.held_bytes && hold.released_ms === null
          ? h('span', { class: 'small muted held-bytes', 'data-bytes': hold.held_bytes[c] ?? 0 }, ` · ${formatBytes(hold.held_bytes[c] ?? 0)} held`)
          : null))),
      h('td', { class: 'nowrap' }, formatDateTime(hold.from_ms), ' – ', formatDateTime(hold.to_ms)),
      h('td', { class: 'small' }, `${hold.created_by}, ${formatDateTime(hold.created_ms)}`),
      h('td', { class: 'small' }, hold.released_ms !== null ? `released by ${hold.released_by}, ${formatDateTime(hold.released_ms)}` : release));
  };

  const load = async () => {
    try {
      const holds = await api.holds(showReleased.checked);
      if (stopped) return;
      mount(list, holds.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Cameras'), h('th', {}, 'Range'), h('th', {}, 'Put by'), h('th', {}, ''))),
          h('tbody', {}, holds.map(rowOf))))
        : notice('empty', 'No holds.'));
    } catch (e) {
      if (!stopped) mount(list, notice('error', `Cannot load holds: ${(e as Error).message}`));
    }
  };
  showReleased.addEventListener('change', () => void load());

  if (mayExport(ctx.me)) {
    const now = Date.now();
    // The inputs hold whole minutes: the end is the next minute, so the default (the last hour)
    // takes in everything recorded up to now, not only up to the start of this minute.
    const from = h('input', { type: 'datetime-local', name: 'hold_from', value: dateTimeInputValue(now - 3600_000) });
    const to = h('input', { type: 'datetime-local', name: 'hold_to', value: dateTimeInputValue(Math.ceil(now / 60_000) * 60_000) });
    const cams = h('select', { name: 'hold_cameras', multiple: true, size: 4, 'aria-label': 'Cameras' });
    api.cameras().then((cs: Camera[]) => {
      cams.replaceChildren(...cs.map((c) => h('option', { value: c.id }, c.name || c.id)));
    }).catch(() => {});
    mount(formSlot, h('section', { class: 'card', 'aria-labelledby': 'new-hold-title' },
      h('h2', { id: 'new-hold-title' }, 'New hold'),
      h('div', { class: 'form-grid' },
        h('label', { class: 'field' }, h('span', {}, 'Cameras'), cams),
        h('label', { class: 'field' }, h('span', {}, 'From'), from),
        h('label', { class: 'field' }, h('span', {}, 'To'), to)),
      holdForm({
        range: () => {
          const a = parseDateTimeInput(from.value);
          const b = parseDateTimeInput(to.value);
          return a !== null && b !== null ? [a, b] : null;
        },
        cameras: () => Array.from(cams.selectedOptions, (o) => o.value),
        onAdded: () => void load(),
      })));
  }
  mount(list, spinner('Loading holds…'));
  void load();
  return () => {
    stopped = true;
  };
}
