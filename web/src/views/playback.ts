// Recorded playback of one camera: a day (or an hour) on the timeline with the recorded ranges,
// gaps and event markers; click a moment (or a marker) and the recordings play from there
// (recorded_player.ts), at 1×–8×; step to the previous/next event or till transaction of the
// camera ([ and ]), even beyond the day shown; compare up to three other cameras at the same moment
// (compare_players.ts); an operator marks a range and exports it as an MP4 download.
// The hash holds what to show: ?t=<ms> plays from that moment, &event=<id> names the event it
// belongs to, &with=<id>,<id> the compared cameras, &transaction=<id> a till's transaction whose
// receipt is shown beside the video (transaction_receipt.ts).
import { api, type Camera, type TimelineEvent, type Transaction } from '../api';
import { isAdmin, mayExport, type Ctx } from '../app';
import { ComparePlayers, kMaxCompared } from '../compare_players';
import { h, mount, notice } from '../dom';
import { describeEvent, kPreRollMs } from '../event_kinds';
import { exportLinkText, waitForExport } from '../export_job';
import { holdForm } from '../hold_form';
import { RecordedPlayer, type PlayerState } from '../recorded_player';
import { chooseStream, hasSub, isPhone, kPhoneQuery, type Stream } from '../stream_choice';
import { speakerButton } from '../speaker';
import { Timeline } from '../timeline';
import { kindLabel, money, ReceiptPanel } from '../transaction_receipt';
import { TimelinePreview } from '../timeline_preview';
import {
  dateInputValue, dayStart, formatDateTime, formatDay, formatDuration, formatTime, nextDayStart,
  parseDateInput, prevDayStart, timeZone,
} from '../time';

const kRefreshMs = 15_000;
const kSpeeds = [1, 2, 4, 8];
// "Previous event" within this long after an event's start goes to the one before it (as a
// music player's "previous" does), not back to the start of the same one.
const kPrevGraceMs = 1000;
// How far ahead "Next event" looks in the API when the day shown has none, widening in turn.
const kNextSpansMs = [3600_000, 86_400_000, 7 * 86_400_000, 31 * 86_400_000, 400 * 86_400_000];

export function playbackScreen(root: HTMLElement, ctx: Ctx, q: URLSearchParams, id: string): () => void {
  // hls.js is most of the UI's code: only this screen loads it, as soon as it opens, so that
  // the first click does not wait for it.
  const hlsModule = import('hls.js');
  let stopped = false;
  let loadSeq = 0;
  let zoom: 'day' | 'hour' = 'day';
  const requested = Number(q.get('t'));
  const hasRequest = Number.isFinite(requested) && requested > 0;
  let day = dayStart(hasRequest ? requested : Date.now());
  let selection: [number | null, number | null] = [null, null];
  let cameras: Camera[] = [];
  // The start of the event last jumped to: "next" and "previous" count from it while playback
  // is still in its pre-roll.
  let anchor: number | null = null;
  const requestedEvent = Number(q.get('event')) || null;
  let requestedTransaction = Number(q.get('transaction')) || null;
  let receipt: ReceiptPanel | null = null;
  const receiptSlot = h('div', { class: 'receipt-slot', hidden: true });

  const title = h('h1', {}, id);
  const dateInput = h('input', { type: 'date', 'aria-label': 'Day', value: dateInputValue(day) });
  const dayLabel = h('span', { class: 'muted small' });
  const zoomDay = h('button', { type: 'button', 'aria-pressed': 'true' }, 'Day');
  const zoomHour = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Hour');
  const video = h('video', { class: 'playback-video', muted: true, playsinline: true, controls: false, 'aria-label': 'Recorded video' });
  const overlay = h('div', { class: 'overlay', 'aria-live': 'polite' }, 'Pick a moment on the timeline to play from there.');
  const mainLabel = h('span', { class: 'stage-label' }, id);
  const mainStage = h('div', { class: 'stage', 'data-camera': id }, video, overlay, mainLabel);
  const stages = h('div', { class: 'stages' }, mainStage);
  const clock = h('output', { class: 'clock', 'aria-live': 'off' }, '');
  const timelineStatus = h('div', { 'aria-live': 'polite' });
  const eventStatus = h('div', { class: 'event-status small', 'aria-live': 'polite' });
  const timeline = new Timeline({
    label: `Timeline of ${id}`,
    onSeek: (ms) => {
      anchor = null;
      timeline.setCurrentEvent(null);
      timeline.setCurrentTransaction(null);
      eventStatus.replaceChildren();
      void playFrom(ms);
    },
    onSelect: (a, b) => {
      selection = [a, b];
      showSelection();
    },
    onEvent: (ev) => void playEvent(ev),
    onTransaction: (t) => void playTransaction(t),
    onHover: (ms, x) => preview.hover(ms, x),
  });
  const timelineBox = h('div', { class: 'timeline-box' });
  const preview = new TimelinePreview(id, () => timelineBox);
  timelineBox.append(preview.el, timeline.el);
  const player = new RecordedPlayer(id, video, hlsModule, (s) => onPlayerState(s));
  const compare = new ComparePlayers(player, stages, hlsModule, () => saveHash());
  // The stream the main player shows (stream_choice.ts): known once the camera is.
  let me: Camera | null = null;
  let mainCodec: string | null = null;
  const pickStream = () => {
    if (!me) return;
    player.subRecorded = hasSub(me);
    player.setStream(chooseStream(me, mainCodec, {
      fullScreen: document.fullscreenElement === mainStage,
      sideBySide: compare.ids().length > 0,
      phone: isPhone(),
    }));
  };
  player.onStream = () => void loadTimeline();
  const phoneQuery = window.matchMedia(kPhoneQuery);
  phoneQuery.addEventListener('change', pickStream);
  document.addEventListener('fullscreenchange', pickStream);
  const fullScreen = h('button', { type: 'button', onclick: () => void mainStage.requestFullscreen().catch(() => undefined) }, 'Full screen');
  const speedButtons = kSpeeds.map((s) =>
    h('button', { type: 'button', 'aria-pressed': String(s === 1), 'data-speed': s, onclick: () => setSpeed(s) }, `${s}×`),
  );
  const pause = h('button', { type: 'button', onclick: () => (video.paused ? void video.play() : video.pause()) }, 'Pause');
  video.addEventListener('play', () => (pause.textContent = 'Pause'));
  video.addEventListener('pause', () => (pause.textContent = 'Play'));
  const prevEvent = h('button', { type: 'button', 'aria-keyshortcuts': '[', title: 'Previous event ( [ )', onclick: () => void stepEvent(-1) }, '‹ Previous event');
  const nextEvent = h('button', { type: 'button', 'aria-keyshortcuts': ']', title: 'Next event ( ] )', onclick: () => void stepEvent(1) }, 'Next event ›');
  const comparePick = h('select', { 'aria-label': 'Compare with another camera', class: 'compare-pick', hidden: true }, h('option', { value: '' }, 'Compare with…'));
  comparePick.addEventListener('change', () => {
    const cam = cameras.find((c) => c.id === comparePick.value);
    comparePick.value = '';
    if (cam) {
      compare.add(cam, player.wallNow() ?? (player.loaded() ? timeline.getCursor() : null));
      fillComparePick();
    }
  });

  // Export (operators and admins).
  const selText = h('span', { class: 'small' }, 'No range selected.');
  const exportButton = h('button', { type: 'button', class: 'primary', disabled: true }, 'Export MP4');
  const exportStatus = h('div', { class: 'export-status', 'aria-live': 'polite' });
  // What to export: a plain MP4 plays anywhere; an evidence bundle (a ZIP of the original
  // fragments with their hash chain and signed checkpoints) proves it was not altered.
  const plainChoice = h('input', { type: 'radio', name: 'export_kind', value: 'mp4', checked: true });
  const evidenceChoice = h('input', { type: 'radio', name: 'export_kind', value: 'evidence' });
  const exportKind = h(
    'fieldset',
    { class: 'export-kind' },
    h('legend', { class: 'small' }, 'Export as'),
    h('label', { class: 'check' }, plainChoice, ' Plain MP4'),
    h('label', { class: 'check' }, evidenceChoice, ' Evidence bundle (verifiable)'),
  );
  const showKind = () => {
    exportButton.textContent = evidenceChoice.checked ? 'Export evidence bundle' : 'Export MP4';
  };
  // Which stream to export, for a camera that records both (shown once the camera is known).
  const streamPick = h('select', { 'aria-label': 'Stream to export' },
    h('option', { value: 'main' }, 'Main stream (full resolution)'),
    h('option', { value: 'sub' }, 'Sub stream (low resolution)'));
  const streamRow = h('label', { class: 'small', hidden: true }, 'Stream ', streamPick);
  plainChoice.addEventListener('change', showKind);
  evidenceChoice.addEventListener('change', showKind);
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
  const selectedRange = (): [number, number] | null => {
    const [a, b] = selection;
    return a !== null && b !== null ? [Math.min(a, b), Math.max(a, b)] : null;
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
        exportKind,
        streamRow,
        selText,
        exportStatus,
        // The same selection can be put under an evidence hold (retention then keeps it).
        h('h3', {}, 'Hold this range'),
        holdForm({ range: selectedRange, cameras: () => [id] }),
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
        comparePick,
        h('a', { href: `#/live/${id}`, class: 'button' }, 'Live'),
      ),
      h('div', { class: 'watch' }, stages, receiptSlot),
      h(
        'div',
        { class: 'controls row' },
        pause,
        speakerButton(video),
        h('div', { class: 'speeds', role: 'group', 'aria-label': 'Speed' }, speedButtons),
        h('div', { class: 'event-nav', role: 'group', 'aria-label': 'Events' }, prevEvent, nextEvent),
        fullScreen,
        clock,
      ),
      eventStatus,
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
      timelineBox,
      h(
        'p',
        { class: 'legend small muted' },
        h('span', { class: 'key rec' }), 'recorded ',
        h('span', { class: 'key gap' }), 'not recorded ',
        h('span', { class: 'key ev armed' }), 'event, armed ',
        h('span', { class: 'key ev unarmed' }), 'event, not armed ',
        h('span', { class: 'key tx' }), 'till transaction ',
        h('span', { class: 'key sel' }), 'selected — ',
        `times in ${timeZone()}; [ and ] step between events and transactions`,
      ),
      timelineStatus,
      exportBox,
    ),
  );
  dateInput.addEventListener('change', () => {
    const d = parseDateInput(dateInput.value);
    if (d !== null) void showDay(d);
  });
  zoomDay.addEventListener('click', () => setZoom('day'));
  zoomHour.addEventListener('click', () => setZoom('hour'));

  // A transaction's receipt beside the video, following its playback.
  async function showReceipt(txId: number): Promise<void> {
    requestedTransaction = txId;
    receiptSlot.hidden = false;
    mount(receiptSlot, h('p', { class: 'loading small', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Loading the receipt…'));
    try {
      const t = await api.transaction(txId);
      if (stopped || requestedTransaction !== txId) return;
      receipt = new ReceiptPanel(t, isAdmin(ctx.me) ? clockOffsetForm(t) : null);
      receipt.update(player.wallNow());
      mount(receiptSlot, receipt.el);
    } catch (e) {
      if (!stopped) mount(receiptSlot, notice('error', `Cannot load the transaction: ${(e as Error).message}`));
    }
  }

  // "This happened here": the frame on screen is the transaction's real moment, so the till's
  // clock is off by the difference (admins; only a till that sends its own time has a clock).
  function clockOffsetForm(t: Transaction): HTMLElement | null {
    const tillTime = t.time_ms;
    if (tillTime === null) return null;
    const said = h('div', { class: 'small', 'aria-live': 'polite' });
    const button = h('button', { type: 'button', title: `Set till ${t.till}'s clock offset so that this transaction falls on the frame shown` }, 'This happened here');
    button.addEventListener('click', async () => {
      const at = player.wallNow();
      if (at === null) {
        mount(said, notice('info', 'Play the video to the moment the transaction happened first.'));
        return;
      }
      button.disabled = true;
      try {
        const r = await api.setTillClockOffset(t.till, Math.round(at - tillTime));
        if (stopped) return;
        mount(said, notice('info', `Till ${t.till}'s clock offset is now ${(r.clock_offset_ms / 1000).toFixed(1)} s (it was ${((t.moment_ms - tillTime) / 1000).toFixed(1)} s when this one was stored). Transactions stored from now on use it.`));
      } catch (e) {
        if (!stopped) mount(said, notice('error', `Cannot set the clock offset: ${(e as Error).message}`));
      } finally {
        button.disabled = false;
      }
    });
    return h('div', { class: 'clock-offset' }, h('p', { class: 'small muted' }, 'Found the moment on the video? Pause there and:'), button, said);
  }

  // [ and ] anywhere on the screen but in a text field.
  const onKey = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
    if (e.key === '[' || e.key === ']') {
      e.preventDefault();
      void stepEvent(e.key === ']' ? 1 : -1);
    }
  };
  document.addEventListener('keydown', onKey);

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

  // The window of the zoom around `at` (by default the cursor).
  function applyWindow(at = timeline.getCursor()) {
    if (zoom === 'day') {
      timeline.setWindow(day, nextDayStart(day));
    } else {
      const c = at || Date.now();
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
      // The runs of the stream that plays (a sub stream often reaches further back).
      const data = await api.timeline(id, start, end, undefined, player.currentStream());
      if (stopped || seq !== loadSeq) return;
      timeline.setData(data);
      root.dataset.recorded = String(data.recorded.length);
      root.dataset.events = String(data.events?.length ?? 0);
      // A day just opened: put the cursor where its latest recording begins.
      const last = data.recorded[data.recorded.length - 1];
      if (last && timeline.getCursor() === day) {
        applyWindow(last.start_ms);
        timeline.setCursor(last.start_ms);
      }
      if (!data.recorded.length) {
        mount(timelineStatus, notice('empty', `No recordings on ${formatDay(day)}.`));
        // Before the camera records anything there is nothing anywhere: say so plainly.
        void api
          .camera(id)
          .then((c) => {
            if (stopped || seq !== loadSeq || (c.status?.stored_segments ?? 0) > 0) return;
            mount(
              timelineStatus,
              notice('empty', 'No recordings yet: footage plays here as soon as the camera records, the file being written included.'),
              notice('empty', `No recordings on ${formatDay(day)}.`),
            );
          })
          .catch(() => undefined);
      } else {
        const total = data.recorded.reduce((n, r) => n + (r.end_ms - r.start_ms), 0);
        const evs = data.events?.length ?? 0;
        mount(timelineStatus, h('p', { class: 'small muted' },
          `${formatDuration(total)} recorded in ${data.recorded.length} range${data.recorded.length > 1 ? 's' : ''}, ` +
          `${data.gaps.length} gap${data.gaps.length === 1 ? '' : 's'}, ${evs} event${evs === 1 ? '' : 's'}` +
          `${data.events_truncated ? ' (the newest 1000 shown)' : ''}.`));
      }
    } catch (e) {
      if (!stopped) mount(timelineStatus, notice('error', `Cannot load the timeline: ${(e as Error).message}`));
    }
  }

  function showDay(d: number): Promise<void> {
    day = dayStart(d);
    anchor = null;
    timeline.setCurrentEvent(null);
    dateInput.value = dateInputValue(day);
    dayLabel.textContent = formatDay(day);
    timeline.setCursor(day);
    applyWindow();
    timeline.setData(null);
    timeline.setTransactions([]);
    // The day's transactions of the tills this camera watches: once per day shown, not at every
    // refresh (each search is audited).
    const shown = day;
    api
      .transactions({ camera: id, from_ms: day, to_ms: nextDayStart(day), limit: 500 })
      .then((r) => {
        if (stopped || day !== shown) return;
        timeline.setTransactions(r.transactions);
        root.dataset.transactions = String(r.transactions.length);
      })
      .catch((e: Error) => mount(eventStatus, notice('error', `Cannot load the transactions: ${e.message}`)));
    mount(timelineStatus, h('p', { class: 'loading small', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Loading the timeline…'));
    return loadTimeline();
  }

  function onPlayerState(s: PlayerState) {
    root.dataset.playState = s.kind;
    switch (s.kind) {
      case 'loading':
        mount(overlay, h('span', { class: 'spin', 'aria-hidden': 'true' }), `Loading ${formatTime(s.from)}…`);
        overlay.hidden = false;
        break;
      case 'pending':
        mount(overlay, h('span', { class: 'spin', 'aria-hidden': 'true' }), `${formatTime(s.from)} is being recorded: it plays as soon as its part is written (a few seconds)…`);
        overlay.hidden = false;
        break;
      case 'playing':
      case 'ready':
        overlay.hidden = true;
        break;
      case 'live-edge':
        mount(overlay, notice('info', `Caught up with the recording at ${formatTime(s.at)}: newer footage plays as it is written (a few seconds behind live). Live shows the present.`));
        overlay.hidden = false;
        break;
      case 'ended':
        mount(overlay, notice('info', 'End of the recordings in this window. Pick another moment.'));
        overlay.hidden = false;
        break;
      case 'no-footage':
      case 'error':
        mount(overlay, notice('error', s.text));
        overlay.hidden = false;
        break;
    }
  }

  async function playFrom(ms: number): Promise<void> {
    const playable = timeline.playableFrom(ms);
    if (playable === null) {
      mount(overlay, notice('empty', `Nothing recorded after ${formatTime(ms)} on this day.`));
      overlay.hidden = false;
      return;
    }
    // The cursor is kept inside the window: move the window first.
    if (zoom === 'hour') applyWindow(playable);
    timeline.setCursor(playable);
    compare.loadAll(playable);
    await player.load(playable);
  }

  // Plays an event from a moment before it, on its own day.
  async function playEvent(ev: { id: number; start_ms: number }): Promise<void> {
    if (dayStart(ev.start_ms) !== day) await showDay(ev.start_ms);
    if (stopped) return;
    anchor = ev.start_ms;
    timeline.setCurrentEvent(ev.id);
    timeline.setCurrentTransaction(null);
    const known = timeline.events().find((e) => e.id === ev.id);
    mount(eventStatus, `Playing: ${known ? describeEvent(known) : `event at ${formatDateTime(ev.start_ms)}`}`);
    await playFrom(ev.start_ms - kPreRollMs);
  }

  // Plays a till's transaction from a moment before it, with its receipt beside the video.
  async function playTransaction(t: Transaction): Promise<void> {
    if (dayStart(t.moment_ms) !== day) await showDay(t.moment_ms);
    if (stopped) return;
    anchor = t.moment_ms;
    timeline.setCurrentEvent(null);
    timeline.setCurrentTransaction(t.id);
    mount(eventStatus, `Playing: ${kindLabel(t.kind)} ${money(t.total_minor, t.currency)} at till ${t.till}, ${formatDateTime(t.moment_ms)}`);
    void showReceipt(t.id);
    saveHash();
    await playFrom(t.moment_ms - kPreRollMs);
  }

  // Where [ and ] can go: the camera's events and its tills' transactions.
  interface Stop { at: number; play: () => Promise<void> }
  const eventStop = (e: TimelineEvent): Stop => ({ at: e.start_ms, play: () => playEvent(e) });
  const transactionStop = (t: Transaction): Stop => ({ at: t.moment_ms, play: () => playTransaction(t) });

  // The previous (dir −1) or next (+1) event or transaction of this camera, from the day shown
  // or, past it, from the events and transactions APIs.
  async function stepEvent(dir: 1 | -1): Promise<void> {
    const cursor = timeline.getCursor();
    const ref = anchor === null ? cursor : dir > 0 ? Math.max(cursor, anchor) : Math.min(cursor, anchor);
    const stops = [...timeline.events().map(eventStop), ...timeline.transactions().map(transactionStop)].sort((a, b) => a.at - b.at);
    const nearest = (c: Stop[]) => (dir > 0 ? c.find((s) => s.at > ref) : [...c].reverse().find((s) => s.at < ref - kPrevGraceMs));
    let target = nearest(stops);
    if (!target) {
      mount(eventStatus, h('span', { class: 'loading', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Looking for events…'));
      try {
        const [ev, tx] = await Promise.all(dir > 0
          ? [nextEventAfter(ref), nextTransactionAfter(ref)]
          : [previousEventBefore(ref - kPrevGraceMs), previousTransactionBefore(ref - kPrevGraceMs)]);
        const found = [ev && eventStop(ev), tx && transactionStop(tx)].filter((s): s is Stop => !!s).sort((a, b) => a.at - b.at);
        target = nearest(found);
      } catch (e) {
        if (!stopped) mount(eventStatus, notice('error', `Cannot look for events: ${(e as Error).message}`));
        return;
      }
      if (stopped) return;
    }
    if (!target) {
      mount(eventStatus, notice('empty', dir > 0 ? `No event of this camera after ${formatDateTime(ref)}.` : `No event of this camera before ${formatDateTime(ref)}.`));
      return;
    }
    await target.play();
  }

  // The latest transaction of this camera's tills before `ref` (the API answers newest first).
  async function previousTransactionBefore(ref: number): Promise<Transaction | null> {
    return (await api.transactions({ camera: id, to_ms: ref, limit: 1 })).transactions[0] ?? null;
  }

  // The oldest transaction after `ref`: like nextEventAfter, a window narrowed to end at the
  // oldest of a full page until one page holds it.
  async function nextTransactionAfter(ref: number): Promise<Transaction | null> {
    for (const span of kNextSpansMs) {
      let to = ref + span;
      for (;;) {
        const r = await api.transactions({ camera: id, from_ms: ref + 1, to_ms: to, limit: 500 });
        const oldest = r.transactions[r.transactions.length - 1];
        if (r.next_before_id !== undefined && oldest && oldest.moment_ms + 1 < to) {
          to = oldest.moment_ms + 1;
          continue;
        }
        if (oldest) return oldest;
        break;
      }
      if (ref + span > Date.now()) break;
    }
    return null;
  }

  // Newest first from the API: the first answer holds the latest event before `ref`.
  async function previousEventBefore(ref: number): Promise<TimelineEvent | null> {
    const r = await api.events({ camera: id, to_ms: ref, limit: 50 });
    const before = r.events.filter((e) => e.start_ms < ref);
    return before.reduce<TimelineEvent | null>((best, e) => (!best || e.start_ms > best.start_ms ? e : best), null);
  }

  // The API answers newest first; the oldest event after `ref` is at the end of the list. A
  // window that holds more than one page is narrowed to end at its oldest event, until a page
  // holds all of it.
  async function nextEventAfter(ref: number): Promise<TimelineEvent | null> {
    for (const span of kNextSpansMs) {
      let to = ref + span;
      for (;;) {
        const r = await api.events({ camera: id, from_ms: ref + 1, to_ms: to, limit: 1000 });
        const after = r.events.filter((e) => e.start_ms > ref);
        const oldest = after.reduce<TimelineEvent | null>((best, e) => (!best || e.start_ms < best.start_ms ? e : best), null);
        if (r.next_before_id !== null && oldest && oldest.start_ms + 1 < to) {
          to = oldest.start_ms + 1;
          continue;
        }
        if (oldest) return oldest;
        break;
      }
      if (ref + span > Date.now()) break;
    }
    return null;
  }

  // The wall time of the frame on screen, from the playlist's PROGRAM-DATE-TIME.
  const onTime = () => {
    const ms = player.wallNow();
    receipt?.update(ms);
    if (ms === null || timeline.interacting()) return;
    clock.textContent = formatDateTime(ms);
    // Another day is shown while this one plays on: the cursor stays where the user put it.
    if (ms < day || ms >= nextDayStart(day)) return;
    const [start, end] = timeline.window();
    if (zoom === 'hour' && (ms >= end || ms < start)) applyWindow(ms);
    timeline.setCursor(ms);
  };
  video.addEventListener('timeupdate', onTime);

  async function runExport(): Promise<void> {
    const [a, b] = selection;
    if (a === null || b === null) return;
    exportButton.disabled = true;
    mount(exportStatus, h('p', { class: 'loading small', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Exporting…'));
    try {
      const job = await waitForExport(await api.startExport(id, Math.min(a, b), Math.max(a, b), evidenceChoice.checked, streamPick.value as Stream), () => {}, () => !stopped);
      if (!job) return;
      const link = h('a', { href: api.exportFileUrl(job.id), download: '', class: 'button primary' }, exportLinkText(job));
      mount(exportStatus, link, job.note ? notice('info', job.note) : null);
      link.click();
    } catch (e) {
      mount(exportStatus, notice('error', `Export failed: ${(e as Error).message}`));
    } finally {
      exportButton.disabled = false;
    }
  }

  function fillComparePick() {
    const shown = compare.ids();
    const others = cameras.filter((c) => c.id !== id && !shown.includes(c.id));
    mount(comparePick, h('option', { value: '' }, 'Compare with…'), others.map((c) => h('option', { value: c.id }, c.name)));
    comparePick.disabled = others.length === 0 || shown.length >= kMaxCompared;
    comparePick.hidden = cameras.length < 2;
  }

  // The hash follows what is shown, so that a reload or a shared link comes back to it (without
  // a hashchange, which would open the screen again).
  function saveHash() {
    fillComparePick();
    pickStream();  // the side-by-side view began or ended
    const p = new URLSearchParams();
    // The moment on screen, or none while nothing was played (a reload then plays nothing).
    const t = player.wallNow() ?? (player.loaded() || hasRequest ? timeline.getCursor() : null);
    if (t !== null && t > 0) p.set('t', String(Math.round(t)));
    const ids = compare.ids();
    if (ids.length) p.set('with', ids.join(','));
    if (requestedTransaction !== null) p.set('transaction', String(requestedTransaction));
    history.replaceState(null, '', `#/playback/${id}?${p}`);
  }

  const camerasLoaded = api
    .cameras()
    .then(async (cs) => {
      if (stopped) return;
      cameras = cs;
      me = cs.find((c) => c.id === id) ?? null;
      if (me) {
        title.textContent = `${me.name} — recordings`;
        mainLabel.textContent = me.name;
        streamRow.hidden = !hasSub(me);
        // The main stream's codec (H.265 cannot play here) is in the camera's status.
        if (hasSub(me)) mainCodec = (await api.camera(id).catch(() => null))?.status?.video_codec ?? null;
        if (stopped) return;
        pickStream();
      }
      const wanted = (q.get('with') ?? '').split(',').filter(Boolean);
      for (const w of wanted.slice(0, kMaxCompared)) {
        const cam = cs.find((c) => c.id === w);
        if (cam) compare.add(cam, player.loaded() ? timeline.getCursor() : null);
      }
      fillComparePick();
    })
    .catch((e: Error) => mount(timelineStatus, notice('error', e.message)));
  // The first moment plays once the camera (and so its stream) is known.
  void Promise.all([showDay(day), camerasLoaded]).then(() => {
    if (stopped || !hasRequest) return;
    // A link to a moment (the events page's "Play") plays it.
    if (requestedEvent !== null) {
      const ev = timeline.events().find((e) => e.id === requestedEvent);
      if (ev) {
        anchor = ev.start_ms;
        timeline.setCurrentEvent(ev.id);
        mount(eventStatus, `Playing: ${describeEvent(ev)}`);
      }
    }
    void playFrom(requested);
  });
  if (hasRequest) timeline.setCursor(requested);
  if (requestedTransaction !== null) {
    timeline.setCurrentTransaction(requestedTransaction);
    void showReceipt(requestedTransaction);
  }
  const timer = window.setInterval(() => {
    if (nextDayStart(day) > Date.now() - kRefreshMs) void loadTimeline();
  }, kRefreshMs);
  return () => {
    stopped = true;
    window.clearInterval(timer);
    document.removeEventListener('keydown', onKey);
    phoneQuery.removeEventListener('change', pickStream);
    document.removeEventListener('fullscreenchange', pickStream);
    compare.destroy();
    preview.destroy();
    player.destroy();
  };
}
