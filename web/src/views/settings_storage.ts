// Admin: storage and retention — the recordings' disk (a usage bar, the warning threshold), the
// default retention every camera without its own limit follows (PATCH /api/settings/storage),
// and what each camera keeps now.
import { api, type RetentionLimits, type StorageSettings } from '../api';
import type { Ctx } from '../app';
import { formatBytes } from '../bytes';
import { refreshBanner } from '../disk_banner';
import { h, mount, notice, spinner } from '../dom';
import { formatDateTime } from '../time';

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

function limitText(r: RetentionLimits | null): string {
  if (!r) return '—';
  const parts: string[] = [];
  if (r.max_days != null) parts.push(`${r.max_days} days`);
  if (r.max_bytes != null) parts.push(typeof r.max_bytes === 'number' ? formatBytes(r.max_bytes) : r.max_bytes);
  return parts.length ? parts.join(', ') : 'until space is needed';
}

function diskCard(s: StorageSettings): HTMLElement {
  const d = s.disk;
  const used = d.total_bytes ? d.total_bytes - d.free_bytes : 0;
  const pct = d.total_bytes ? Math.round((used / d.total_bytes) * 100) : 0;
  const bar = h('div', {
    class: `usage${d.low ? ' low' : ''}`,
    role: 'meter',
    'aria-label': 'Disk used',
    'aria-valuemin': 0,
    'aria-valuemax': 100,
    'aria-valuenow': pct,
    'aria-valuetext': `${pct} % used, ${formatBytes(d.free_bytes)} free`,
  }, h('div', {}));
  (bar.firstChild as HTMLElement).style.width = `${pct}%`;
  return h('section', { class: 'card', 'aria-labelledby': 'disk-title' },
    h('h2', { id: 'disk-title' }, 'Disk'),
    d.total_bytes ? bar : null,
    h('p', { class: 'disk-text' }, d.total_bytes
      ? `${formatBytes(used)} used of ${formatBytes(d.total_bytes)} (${pct} %), ${formatBytes(d.free_bytes)} free.`
      : `${formatBytes(d.free_bytes)} free.`),
    d.low
      ? notice('error', `Less than ${formatBytes(d.low_below_bytes)} is free. Retention keeps ${formatBytes(s.min_free_space_bytes)} free by deleting the oldest footage; when space stays below this, something else fills the disk or footage cannot be deleted (held, being written). Free space or shorten retention.`)
      : h('p', { class: 'small muted' }, `Retention keeps at least ${formatBytes(s.min_free_space_bytes)} free (min_free_space); a warning shows below ${formatBytes(d.low_below_bytes)}.`),
  );
}

export function storageSettings(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  const disk = h('div', {});
  const form = h('div', {});
  const cams = h('div', {});
  mount(root, h('h1', {}, 'Storage & retention'), disk, form, cams);

  const show = (s: StorageSettings) => {
    mount(disk, diskCard(s));
    if (!s.cameras.length) {
      mount(cams, notice('empty', 'No cameras yet: nothing is stored.'));
    } else {
      mount(cams, h('section', { class: 'card', 'aria-labelledby': 'stored-title' },
        h('h2', { id: 'stored-title' }, 'Stored per camera'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Camera'), h('th', {}, 'Stored'), h('th', {}, 'Held'), h('th', {}, 'Oldest footage'), h('th', {}, 'Kept'))),
          h('tbody', {}, s.cameras.map((c) => h('tr', { 'data-camera': c.id },
            h('td', {}, c.name || c.id, c.stopped_by_holds
              ? h('div', { class: 'problem small' }, 'disk full of held footage: not recording (release a hold or add space)')
              : c.disk_full ? h('div', { class: 'problem small' }, 'disk full: not recording') : null),
            h('td', { class: 'nowrap' }, `${formatBytes(c.stored_bytes)}`, h('div', { class: 'small muted' }, `${c.stored_segments} files`)),
            h('td', { class: 'nowrap', 'data-held': c.held_bytes }, c.held_bytes ? formatBytes(c.held_bytes) : '—'),
            h('td', {}, c.oldest_footage ? formatDateTime(Date.parse(c.oldest_footage)) : 'No recordings yet'),
            h('td', {}, limitText(c.retention)),
          )))))));
    }
  };

  const showForm = (s: StorageSettings) => {
    const days = h('input', { name: 'retention_days', type: 'number', min: 1, max: 36500, value: s.retention.max_days ?? '', placeholder: 'no limit' });
    const size = h('input', { name: 'retention_size', value: s.retention.max_bytes != null ? formatBytes(Number(s.retention.max_bytes)).replace(' ', '') : '', placeholder: 'no limit, e.g. 500GiB', autocomplete: 'off', spellcheck: 'false' });
    const message = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save retention');
    const f = h('form', { class: 'card', 'aria-labelledby': 'ret-title' },
      h('h2', { id: 'ret-title' }, 'Default retention'),
      h('p', { class: 'small muted' }, 'For every camera without its own limit. The oldest footage goes first; whatever the limits, the disk is never filled.'),
      h('div', { class: 'form-grid' },
        field('Keep at most (days)', days, 'empty: no age limit'),
        field('Keep at most (size) per camera', size, 'e.g. 500GiB, 2TB; empty: no size limit'),
      ),
      h('div', { class: 'row' }, save),
      message,
    );
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const sizeText = size.value.trim().replace(/\s+/g, '');
      // "1.5 GiB" as formatBytes shows it is not a size vigil reads: whole numbers only.
      const body: Partial<RetentionLimits> = {
        max_days: days.value.trim() ? Number(days.value) : null,
        max_bytes: sizeText ? (/^\d+$/.test(sizeText) ? Number(sizeText) : sizeText) : null,
      };
      save.disabled = true;
      mount(message, spinner('Saving…'));
      try {
        const next = await api.setRetention(body);
        mount(message, notice('info', 'Saved: retention applies the new limits at its next pass.'));
        show(next);
        void refreshBanner();
      } catch (err) {
        mount(message, notice('error', (err as Error).message));
      } finally {
        save.disabled = false;
      }
    });
    mount(form, f);
  };

  mount(disk, spinner('Loading storage…'));
  api
    .storage()
    .then((s) => {
      if (stopped) return;
      show(s);
      showForm(s);
    })
    .catch((e: Error) => {
      if (!stopped) mount(disk, notice('error', `Cannot load storage: ${e.message}`));
    });
  return () => {
    stopped = true;
  };
}
