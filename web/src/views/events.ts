// The events page: what analysis noticed (GET /api/events), newest first, each with its snapshot,
// camera, type, zones, time and length, and whether it was armed or is still going on. Filters
// (camera, type, zone, from/to in the browser's time zone) live in the hash query
// (#/events?camera=front&type=motion&zone=door&from=MS&to=MS) so that a filtered list can be
// reloaded and linked; "Load older" pages on with before_id. Each event plays in the playback
// screen from a moment before it, and operators download its clip (POST /api/events/{id}/clip,
// an export job) as an MP4 or as an evidence bundle (?evidence=true) that `vigil verify` and the
// Verify evidence page check.
import { api, type Camera, type VigilEvent } from '../api';
import { mayExport, type Ctx } from '../app';
import { append, h, mount, notice, spinner } from '../dom';
import { armedLabel, eventTypeLabel, kEventTypes, kPreRollMs } from '../event_kinds';
import { exportLinkText, waitForExport } from '../export_job';
import { dateTimeInputValue, formatDateTime, formatDuration, parseDateTimeInput, timeZone } from '../time';

const kPageSize = 50;
// Zone names come from the camera's recent events (the API lists no zones of a camera).
const kZoneSample = 1000;

export function eventsScreen(root: HTMLElement, ctx: Ctx, q: URLSearchParams): () => void {
  let stopped = false;
  let cameras: Camera[] = [];
  let before: number | null = null;
  let abort: AbortController | null = null;
  let zoneSeq = 0;
  // The zone of the hash, kept as a choice until the zone list has arrived.
  let pendingZone = q.get('zone') ?? '';

  const camera = h('select', { name: 'camera' }, h('option', { value: '' }, 'All cameras'));
  const type = h('select', { name: 'type' }, h('option', { value: '' }, 'All types'), kEventTypes.map((t) => h('option', { value: t.type }, t.label)));
  const zone = h('select', { name: 'zone' }, h('option', { value: '' }, 'Any zone'));
  const from = h('input', { type: 'datetime-local', name: 'from' });
  const to = h('input', { type: 'datetime-local', name: 'to' });
  const list = h('ul', { class: 'events-list', 'aria-label': 'Events' });
  const status = h('div', { 'aria-live': 'polite' });
  const count = h('p', { class: 'small muted', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true }, 'Load older');

  // The filters of the hash.
  const initial = {
    camera: q.get('camera') ?? '',
    type: q.get('type') ?? '',
    from: Number(q.get('from')) || null,
    to: Number(q.get('to')) || null,
  };
  type.value = initial.type;
  if (initial.from) from.value = dateTimeInputValue(initial.from);
  if (initial.to) to.value = dateTimeInputValue(initial.to);

  const cameraName = (cid: string) => cameras.find((c) => c.id === cid)?.name ?? cid;

  const filters = () => ({
    camera: camera.value || undefined,
    type: type.value || undefined,
    zone: zone.value || undefined,
    from_ms: parseDateTimeInput(from.value) ?? undefined,
    to_ms: parseDateTimeInput(to.value) ?? undefined,
  });

  function saveHash() {
    const f = filters();
    const p = new URLSearchParams();
    if (f.camera) p.set('camera', f.camera);
    if (f.type) p.set('type', f.type);
    if (f.zone) p.set('zone', f.zone);
    if (f.from_ms !== undefined) p.set('from', String(f.from_ms));
    if (f.to_ms !== undefined) p.set('to', String(f.to_ms));
    const qs = p.toString();
    // Not a hashchange: that would open the screen again.
    history.replaceState(null, '', `#/events${qs ? `?${qs}` : ''}`);
  }

  // The zones the chosen camera's events touched (or every camera's), keeping the chosen one.
  async function loadZones(): Promise<void> {
    const seq = ++zoneSeq;
    const keep = zone.value || pendingZone;
    pendingZone = '';
    const names = new Set<string>();
    if (keep) names.add(keep);
    try {
      const r = await api.events({ camera: camera.value || undefined, limit: kZoneSample });
      r.events.forEach((e) => e.zones.forEach((z) => names.add(z)));
    } catch {
      /* the list shows the error; the zone filter keeps what it has */
    }
    if (stopped || seq !== zoneSeq) return;
    mount(zone, h('option', { value: '' }, 'Any zone'), [...names].sort().map((z) => h('option', { value: z }, z)));
    zone.value = keep;
    zone.disabled = names.size === 0;
    zone.title = names.size === 0 ? 'No event of this camera touched a zone' : '';
  }

  function card(e: VigilEvent): HTMLElement {
    const label = eventTypeLabel(e.type);
    const when = formatDateTime(e.start_ms);
    const picture = e.snapshot
      ? h('img', { src: e.snapshot, loading: 'lazy', decoding: 'async', class: 'snap', alt: `${label} on ${cameraName(e.camera)} at ${when}` })
      : h('div', { class: 'snap placeholder' }, 'No picture');
    if (picture instanceof HTMLImageElement) {
      picture.addEventListener('error', () => picture.replaceWith(h('div', { class: 'snap placeholder' }, 'Picture no longer kept')));
    }
    const clipStatus = h('div', { class: 'clip-status', 'aria-live': 'polite' });
    const clipButton = mayExport(ctx.me)
      ? h('button', { type: 'button', 'aria-label': `Download clip: ${label} on ${cameraName(e.camera)} at ${when}` }, 'Download clip')
      : null;
    const evidenceButton = mayExport(ctx.me)
      ? h('button', { type: 'button', class: 'evidence-export', 'aria-label': `Export evidence: ${label} on ${cameraName(e.camera)} at ${when}` }, 'Export evidence')
      : null;
    // One export at a time per card: both buttons wait for the one running.
    const buttons = [clipButton, evidenceButton].filter((b): b is HTMLButtonElement => b !== null);
    clipButton?.addEventListener('click', () => void downloadClip(e, false, buttons, clipStatus));
    evidenceButton?.addEventListener('click', () => void downloadClip(e, true, buttons, clipStatus));
    const duration = e.open ? `${formatDuration(Date.now() - e.start_ms)} so far` : formatDuration(e.end_ms - e.start_ms);
    return h(
      'li',
      { class: 'event-card', 'data-event-id': e.id, 'data-camera': e.camera, 'data-type': e.type },
      h('div', { class: 'frame' }, picture),
      h(
        'div',
        { class: 'event-body' },
        h('h2', { class: 'event-title' },
          h('span', { class: `type-dot type-${e.type}`, 'aria-hidden': 'true' }), label,
          h('span', { class: `badge ${e.armed ? 'warn' : 'off'}` }, armedLabel(e)),
          e.open ? h('span', { class: 'badge bad' }, 'ongoing') : null),
        h('p', { class: 'event-meta' }, h('strong', {}, cameraName(e.camera)),
          e.zones.length ? ` · zone${e.zones.length > 1 ? 's' : ''}: ${e.zones.join(', ')}` : ''),
        h('p', { class: 'event-meta small' }, h('time', { datetime: new Date(e.start_ms).toISOString() }, when), ` · ${duration}`),
        h('div', { class: 'row' },
          h('a', {
            class: 'button primary',
            href: `#/playback/${encodeURIComponent(e.camera)}?t=${e.start_ms - kPreRollMs}&event=${e.id}`,
            'aria-label': `Play ${label} on ${cameraName(e.camera)} at ${when}`,
          }, 'Play'),
          clipButton, evidenceButton),
        clipStatus,
      ),
    );
  }

  async function downloadClip(e: VigilEvent, evidence: boolean, buttons: HTMLButtonElement[], out: HTMLElement): Promise<void> {
    for (const b of buttons) b.disabled = true;
    const t0 = Date.now();
    const what = evidence ? 'the evidence bundle' : 'the clip';
    const progress = (state: string) =>
      mount(out, h('p', { class: 'loading small', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }),
        `Preparing ${what}: ${state === 'queued' ? 'waiting its turn' : 'copying the footage'} (${Math.round((Date.now() - t0) / 1000)} s)…`));
    progress('queued');
    try {
      const job = await waitForExport(await api.eventClip(e.id, evidence), (j) => progress(j.state), () => !stopped);
      if (!job) return;
      const link = h('a', { href: api.exportFileUrl(job.id), download: '', class: 'button' }, exportLinkText(job));
      mount(out, link, job.note ? notice('info', job.note) : null);
      link.click();
    } catch (err) {
      if (!stopped) mount(out, notice('error', `No ${evidence ? 'evidence bundle' : 'clip'}: ${(err as Error).message}`));
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  async function load(append: boolean): Promise<void> {
    abort?.abort();
    const ctl = new AbortController();
    abort = ctl;
    if (!append) {
      before = null;
      list.replaceChildren();
      count.textContent = '';
    }
    more.hidden = true;
    mount(status, spinner('Loading events…'));
    root.dataset.loading = 'true';
    try {
      const r = await api.events({ ...filters(), before_id: before ?? undefined, limit: kPageSize }, ctl.signal);
      if (stopped || ctl !== abort) return;
      list.append(...r.events.map(card));
      before = r.next_before_id;
      more.hidden = before === null;
      const n = list.children.length;
      count.textContent = n ? `${n} event${n === 1 ? '' : 's'} shown, newest first${before === null ? '' : '; older ones below'}.` : '';
      mount(status, n ? null : notice('empty', 'No events in this range.'));
    } catch (e) {
      if ((e as Error).name === 'AbortError' || stopped) return;
      mount(status, notice('error', `Cannot load the events: ${(e as Error).message}`));
    } finally {
      if (ctl === abort) delete root.dataset.loading;
    }
  }

  const apply = () => {
    saveHash();
    void load(false);
  };
  const form = h(
    'form',
    { class: 'row filters', role: 'search', 'aria-label': 'Filter the events' },
    h('label', { class: 'field' }, h('span', {}, 'Camera'), camera),
    h('label', { class: 'field' }, h('span', {}, 'Type'), type),
    h('label', { class: 'field' }, h('span', {}, 'Zone'), zone),
    h('label', { class: 'field' }, h('span', {}, 'From'), from),
    h('label', { class: 'field' }, h('span', {}, 'To'), to),
    h('button', { type: 'submit' }, 'Show'),
    h('button', { type: 'button', class: 'link', onclick: () => {
      camera.value = '';
      type.value = '';
      zone.value = '';
      from.value = '';
      to.value = '';
      void loadZones();
      apply();
    } }, 'Clear filters'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  camera.addEventListener('change', () => {
    zone.value = '';
    void loadZones();
    apply();
  });
  type.addEventListener('change', apply);
  zone.addEventListener('change', apply);
  from.addEventListener('change', apply);
  to.addEventListener('change', apply);
  more.addEventListener('click', () => void load(true));

  mount(
    root,
    h('h1', {}, 'Events'),
    form,
    h('p', { class: 'small muted' }, `Times in ${timeZone()}.`),
    count,
    list,
    status,
    more,
  );

  // The list waits for the camera names (and for the camera of the hash to be a choice).
  void api
    .cameras()
    .then((cs) => {
      cameras = cs;
    })
    .catch(() => {
      /* the list's own request shows what is wrong */
    })
    .finally(() => {
      if (stopped) return;
      append(camera, [cameras.map((c) => h('option', { value: c.id }, c.name))]);
      if (initial.camera && !cameras.some((c) => c.id === initial.camera)) append(camera, [h('option', { value: initial.camera }, initial.camera)]);
      camera.value = initial.camera;
      // The hash's zone filters the first page already, before the zone list is known.
      if (pendingZone) {
        append(zone, [h('option', { value: pendingZone }, pendingZone)]);
        zone.value = pendingZone;
      }
      void loadZones();
      void load(false);
    });
  return () => {
    stopped = true;
    abort?.abort();
  };
}
