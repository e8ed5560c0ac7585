// Recorded playback of one camera: a day (or an hour) on the timeline, click a moment and the
// recordings play from there (hls.js over vigil's byte-range playlists; its configuration is in
// hls_config.ts), at 1×–8×; an operator marks a range and exports it as an MP4 download.
import type Hls from 'hls.js';
import type { ErrorData, LevelLoadedData } from 'hls.js';
import { api, errorFrom, type ExportJob } from '../api';
import { mayExport, type Ctx } from '../app';
import { h, mount, notice } from '../dom';
import { playbackHlsConfig } from '../hls_config';
import { Timeline } from '../timeline';
import {
  dateInputValue, dayStart, formatDateTime, formatDay, formatDuration, formatTime, nextDayStart,
  parseDateInput, prevDayStart, timeZone,
} from '../time';

// A playlist covers this much from the chosen moment (vigil allows up to 24 h).
const kPlaylistSpanMs = 6 * 3600_000;
const kRefreshMs = 15_000;
const kSpeeds = [1, 2, 4, 8];

export function playbackScreen(root: HTMLElement, ctx: Ctx, q: URLSearchParams, id: string): () => void {
  // hls.js is most of the UI's code: only this screen loads it, as soon as it opens, so that
  // the first click does not wait for it.
  const hlsModule = import('hls.js');
  let hls: Hls | null = null;
  let stopped = false;
  let loadSeq = 0;
  let zoom: 'day' | 'hour' = 'day';
  const requested = Number(q.get('t'));
  let day = dayStart(Number.isFinite(requested) && requested > 0 ? requested : Date.now());
  let selection: [number | null, number | null] = [null, null];

  const title = h('h1', {}, id);
  const dateInput = h('input', { type: 'date', 'aria-label': 'Day', value: dateInputValue(day) });
  const dayLabel = h('span', { class: 'muted small' });
  const zoomDay = h('button', { type: 'button', 'aria-pressed': 'true' }, 'Day');
  const zoomHour = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Hour');
  const video = h('video', { class: 'playback-video', muted: true, playsinline: true, controls: false, 'aria-label': 'Recorded video' });
  const overlay = h('div', { class: 'overlay', 'aria-live': 'polite' }, 'Pick a moment on the timeline to play from there.');
  const clock = h('output', { class: 'clock', 'aria-live': 'off' }, '');
  const timelineStatus = h('div', { 'aria-live': 'polite' });
  const timeline = new Timeline({
    label: `Timeline of ${id}`,
    onSeek: (ms) => void playFrom(ms),
    onSelect: (a, b) => {
      selection = [a, b];
      showSelection();
    },
  });
  const speedButtons = kSpeeds.map((s) =>
    h('button', { type: 'button', 'aria-pressed': String(s === 1), 'data-speed': s, onclick: () => setSpeed(s) }, `${s}×`),
  );
  const pause = h('button', { type: 'button', onclick: () => (video.paused ? void video.play() : video.pause()) }, 'Pause');
  video.addEventListener('play', () => (pause.textContent = 'Pause'));
  video.addEventListener('pause', () => (pause.textContent = 'Play'));

  // Export (operators and admins).
  const selText = h('span', { class: 'small' }, 'No range selected.');
  const exportButton = h('button', { type: 'button', class: 'primary', disabled: true }, 'Export MP4');
  const exportStatus = h('div', { class: 'export-status', 'aria-live': 'polite' });
  const mark = (which: 0 | 1) => {
    selection[which] = timeline.getCursor();
    showSelection(which);
  };
  const showSelection = (which: 0 | 1 = 0) => {
    const [a, b] = selection;
    if (a !== null && b !== null) {
      const s: [number, number] = [Math.min(a, b), Math.max(a, b)];
      timeline.setSelection(s);
      selText.textContent = `${formatDateTime(s[0])} – ${formatTime(s[1])} (${formatDuration(s[1] - s[0])})`;
      exportButton.disabled = s[1] <= s[0];
    } else {
      selText.textContent = `${which === 0 ? 'Start' : 'End'} at ${formatTime(selection[which]!)}; now mark the ${which === 0 ? 'end' : 'start'}.`;
    }
  };
  exportButton.addEventListener('click', () => void runExport());
  const exportBox = mayExport(ctx.me)
    ? h(
        'section',
        { class: 'card export', 'aria-labelledby': 'export-title' },
        h('h2', { id: 'export-title' }, 'Export'),
        h('p', { class: 'muted small' }, 'Move the cursor and mark where the clip starts and ends, or Shift+drag on the timeline (at most 30 minutes).'),
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'button', onclick: () => mark(0) }, 'Mark start'),
          h('button', { type: 'button', onclick: () => mark(1) }, 'Mark end'),
          exportButton,
        ),
        selText,
        exportStatus,
      )
    : null;

  mount(
    root,
    h(
      'div',
      { class: 'playback' },
      h(
        'div',
        { class: 'toolbar' },
        h('a', { href: '#/', class: 'back' }, '← All cameras'),
        title,
        h('span', { class: 'spacer' }),
        h('a', { href: `#/live/${id}`, class: 'button' }, 'Live'),
      ),
      h('div', { class: 'stage' }, video, overlay),
      h('div', { class: 'controls row' }, pause, h('div', { class: 'speeds', role: 'group', 'aria-label': 'Speed' }, speedButtons), clock),
      h(
        'div',
        { class: 'row day-nav' },
        h('button', { type: 'button', 'aria-label': 'Previous day', onclick: () => showDay(prevDayStart(day)) }, '‹'),
        dateInput,
        h('button', { type: 'button', 'aria-label': 'Next day', onclick: () => showDay(nextDayStart(day)) }, '›'),
        dayLabel,
        h('span', { class: 'spacer' }),
        h('div', { role: 'group', 'aria-label': 'Zoom' }, zoomDay, zoomHour),
      ),
      timeline.el,
      h(
        'p',
        { class: 'legend small muted' },
        h('span', { class: 'key rec' }), 'recorded ',
        h('span', { class: 'key gap' }), 'not recorded ',
        h('span', { class: 'key sel' }), 'selected — ',
        `times in ${timeZone()}`,
      ),
      timelineStatus,
      exportBox,
    ),
  );
  dateInput.addEventListener('change', () => {
    const d = parseDateInput(dateInput.value);
    if (d !== null) showDay(d);
  });
  zoomDay.addEventListener('click', () => setZoom('day'));
  zoomHour.addEventListener('click', () => setZoom('hour'));

  function setSpeed(s: number) {
    video.playbackRate = s;
    speedButtons.forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.speed) === s)));
  }
  video.addEventListener('ratechange', () => {
    // A new source resets the rate; keep the chosen one.
    const pressed = speedButtons.find((b) => b.getAttribute('aria-pressed') === 'true');
    const want = Number(pressed?.dataset.speed ?? 1);
    if (video.playbackRate !== want) video.playbackRate = want;
  });

  function setZoom(z: 'day' | 'hour') {
    zoom = z;
    zoomDay.setAttribute('aria-pressed', String(z === 'day'));
    zoomHour.setAttribute('aria-pressed', String(z === 'hour'));
    applyWindow();
  }

  function applyWindow() {
    if (zoom === 'day') {
      timeline.setWindow(day, nextDayStart(day));
    } else {
      const c = timeline.getCursor() || Date.now();
      // The local hour: in a zone half an hour off UTC it starts at :30 UTC.
      const local = new Date(c);
      local.setMinutes(0, 0, 0);
      const hourStart = Math.max(day, local.getTime());
      timeline.setWindow(hourStart, Math.min(hourStart + 3600_000, nextDayStart(day)));
    }
  }

  async function loadTimeline(): Promise<void> {
    const seq = ++loadSeq;
    const start = day;
    const end = nextDayStart(day);
    try {
      const data = await api.timeline(id, start, end);
      if (stopped || seq !== loadSeq) return;
      timeline.setData(data);
      root.dataset.recorded = String(data.recorded.length);
      // A day just opened: put the cursor where its latest recording begins.
      const last = data.recorded[data.recorded.length - 1];
      if (last && timeline.getCursor() === day) {
        timeline.setCursor(last.start_ms);
        applyWindow();
      }
      if (!data.recorded.length) {
        mount(timelineStatus, notice('empty', `No recordings on ${formatDay(day)}.`));
        // Before the camera's first file closes there is nothing anywhere: say so plainly.
        void api
          .camera(id)
          .then((c) => {
            if (stopped || seq !== loadSeq || (c.status?.stored_segments ?? 0) > 0) return;
            mount(
              timelineStatus,
              notice('empty', 'No recordings yet: the first file appears here when it closes (a few minutes after recording starts).'),
              notice('empty', `No recordings on ${formatDay(day)}.`),
            );
          })
          .catch(() => undefined);
      } else {
        const total = data.recorded.reduce((n, r) => n + (r.end_ms - r.start_ms), 0);
        mount(timelineStatus, h('p', { class: 'small muted' }, `${formatDuration(total)} recorded in ${data.recorded.length} range${data.recorded.length > 1 ? 's' : ''}, ${data.gaps.length} gap${data.gaps.length === 1 ? '' : 's'}.`));
      }
    } catch (e) {
      if (!stopped) mount(timelineStatus, notice('error', `Cannot load the timeline: ${(e as Error).message}`));
    }
  }

  function showDay(d: number) {
    day = dayStart(d);
    dateInput.value = dateInputValue(day);
    dayLabel.textContent = formatDay(day);
    timeline.setCursor(day);
    applyWindow();
    timeline.setData(null);
    mount(timelineStatus, h('p', { class: 'loading small', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Loading the timeline…'));
    void loadTimeline();
  }

  async function playFrom(ms: number): Promise<void> {
    const playable = timeline.playableFrom(ms);
    if (playable === null) {
      mount(overlay, notice('empty', `Nothing recorded after ${formatTime(ms)} on this day.`));
      overlay.hidden = false;
      return;
    }
    const from: number = playable;
    timeline.setCursor(from);
    hls?.destroy();
    hls = null;
    const { default: Hls, Events } = await hlsModule;
    if (stopped) return;
    if (!Hls.isSupported()) {
      mount(overlay, notice('error', 'This browser cannot play recordings (no MediaSource).'));
      return;
    }
    mount(overlay, h('span', { class: 'spin', 'aria-hidden': 'true' }), `Loading ${formatTime(from)}…`);
    overlay.hidden = false;
    root.dataset.playState = 'loading';
    const url = api.playlistUrl(id, from, Math.min(from + kPlaylistSpanMs, Date.now() + 60_000));
    const player = new Hls(playbackHlsConfig);
    hls = player;
    let started = false;
    player.on(Events.LEVEL_LOADED, (_e: string, data: LevelLoadedData) => {
      if (started) return;
      started = true;
      const first = data.details.fragments[0];
      // The playlist starts at the keyframe at or before `from`; start where `from` is.
      const offset = first?.programDateTime ? first.start + Math.max(0, (from - first.programDateTime) / 1000) : 0;
      player.startLoad(offset);
    });
    player.on(Events.ERROR, (_e: string, d: ErrorData) => {
      if (!d.fatal || player !== hls) return;
      void describeFailure(d).then((text) => {
        if (player !== hls) return;
        root.dataset.playState = 'error';
        mount(overlay, notice('error', text));
        overlay.hidden = false;
      });
      player.destroy();
      hls = null;
    });
    player.attachMedia(video);
    player.loadSource(url);
    const onPlaying = () => {
      overlay.hidden = true;
      root.dataset.playState = 'playing';
    };
    video.addEventListener('playing', onPlaying, { once: true });
    video.play().catch(() => {
      /* muted: allowed */
    });

    async function describeFailure(d: ErrorData): Promise<string> {
      const code = d.response?.code ?? 0;
      if (code >= 400) {
        // The API's own message (e.g. 422 H.265, 404 no footage) says more than hls.js does.
        try {
          const res = await fetch(url, { credentials: 'same-origin' });
          if (!res.ok) {
            const err = await errorFrom(res);
            if (err.status === 404) return `No playable recording from ${formatTime(from)} yet: the file being recorded joins when it closes. ${err.message}`;
            return err.message;
          }
        } catch {
          /* fall through */
        }
      }
      return `Playback failed (${d.details}).`;
    }
  }

  // The wall time of the frame on screen, from the playlist's PROGRAM-DATE-TIME.
  const onTime = () => {
    const date = hls?.playingDate;
    if (!date || timeline.interacting()) return;
    const ms = date.getTime();
    clock.textContent = formatDateTime(ms);
    const [, end] = timeline.window();
    if (zoom === 'hour' && ms >= end) {
      timeline.setCursor(ms);
      applyWindow();
    }
    timeline.setCursor(ms);
  };
  video.addEventListener('timeupdate', onTime);
  video.addEventListener('ended', () => {
    mount(overlay, notice('info', 'End of the recordings in this window. Pick another moment.'));
    overlay.hidden = false;
  });

  async function runExport(): Promise<void> {
    const [a, b] = selection;
    if (a === null || b === null) return;
    exportButton.disabled = true;
    mount(exportStatus, h('p', { class: 'loading small', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Exporting…'));
    try {
      let job: ExportJob = await api.startExport(id, Math.min(a, b), Math.max(a, b));
      while (job.state !== 'done' && job.state !== 'failed') {
        await new Promise((ok) => setTimeout(ok, 700));
        if (stopped) return;
        job = await api.exportJob(job.id);
      }
      if (job.state === 'failed') throw new Error(job.detail ?? job.error ?? 'the export failed');
      const link = h('a', { href: api.exportFileUrl(job.id), download: '', class: 'button primary' }, `Download MP4 (${((job.bytes ?? 0) / 1e6).toFixed(1)} MB, ${Math.round(job.duration_s ?? 0)} s)`);
      mount(exportStatus, link, job.note ? notice('info', job.note) : null);
      link.click();
    } catch (e) {
      mount(exportStatus, notice('error', `Export failed: ${(e as Error).message}`));
    } finally {
      exportButton.disabled = false;
    }
  }

  api
    .camera(id)
    .then((c) => (title.textContent = `${c.name} — recordings`))
    .catch((e: Error) => mount(timelineStatus, notice('error', e.message)));
  showDay(day);
  if (Number.isFinite(requested) && requested > 0) timeline.setCursor(requested);
  const timer = window.setInterval(() => {
    if (nextDayStart(day) > Date.now() - kRefreshMs) void loadTimeline();
  }, kRefreshMs);
  return () => {
    stopped = true;
    window.clearInterval(timer);
    hls?.destroy();
    hls = null;
  };
}
