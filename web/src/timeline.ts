// The scrubber: one bar for a window of wall time (a day or an hour) with the recorded ranges,
// the gaps (with the recorder's reason) and a cursor. Click or drag to pick a moment; keyboard:
// ←/→ step (Shift: 6× further), PageUp/PageDown jump by a larger step, Home/End go to the
// window's edges, Enter plays from the cursor. Arrow keys also play from where they stop.
// Shift+drag marks a range (for export) instead of moving the cursor.
// Events are markers over the ranges: coloured by type, filled when armed and outlined when not
// (so that armed-ness does not rest on colour), each with its description as title; a click on
// one plays from the event. Keyboard users step from event to event with the playback screen's
// Previous/Next event buttons ([ and ]), which announce each one.
// Till transactions (issue 19) are markers too: a thin flag at the moment, in the upper half of
// the bar (so that an event under it stays clickable), titled with kind and total; a click
// plays the transaction with its receipt, and [ and ] step through them with the events.
// It is an ARIA slider whose value is the cursor's time, spoken in the browser's time zone.
import type { Timeline as TimelineData, TimelineEvent, Transaction } from './api';
import { h, mount } from './dom';
import { describeEvent } from './event_kinds';
import { formatDateTime, formatShortTime, formatTime } from './time';
import { kindLabel, money } from './transaction_receipt';

export interface TimelineOptions {
  label: string;
  onSeek: (ms: number) => void;  // the user picked a moment
  onSelect?: (start: number, end: number) => void;  // Shift+drag marked a range
  onEvent?: (ev: TimelineEvent) => void;  // a click on an event's marker
  onTransaction?: (t: Transaction) => void;  // a click on a transaction's marker
  // The pointer is over (hovering or dragging) the moment `ms` at `clientX`; null: it left.
  onHover?: (ms: number | null, clientX: number) => void;
}

const kKeyCommitMs = 400;

export class Timeline {
  readonly el: HTMLElement;
  private readonly track: HTMLElement;
  private readonly layers: { rec: HTMLElement; gaps: HTMLElement; events: HTMLElement; tx: HTMLElement; sel: HTMLElement };
  private readonly cursorEl: HTMLElement;
  private readonly ticks: HTMLElement;
  private start = 0;
  private end = 1;
  private cursor = 0;
  private data: TimelineData | null = null;
  private selection: [number, number] | null = null;
  private currentEvent: number | null = null;
  private txs: Transaction[] = [];  // oldest first
  private currentTx: number | null = null;
  private dragging = false;
  private selectFrom: number | null = null;
  private keyTimer: number | undefined;

  constructor(private readonly opts: TimelineOptions) {
    this.layers = {
      gaps: h('div', { class: 'layer gaps' }),
      rec: h('div', { class: 'layer rec' }),
      events: h('div', { class: 'layer events' }),
      tx: h('div', { class: 'layer transactions' }),
      sel: h('div', { class: 'layer sel' }),
    };
    this.cursorEl = h('div', { class: 'cursor', 'aria-hidden': 'true' });
    this.track = h('div', { class: 'track' }, this.layers.gaps, this.layers.rec, this.layers.events, this.layers.tx, this.layers.sel, this.cursorEl);
    this.ticks = h('div', { class: 'ticks', 'aria-hidden': 'true' });
    this.el = h(
      'div',
      {
        class: 'timeline',
        role: 'slider',
        tabindex: 0,
        'aria-label': opts.label,
        'aria-describedby': 'timeline-help',
      },
      this.track,
      this.ticks,
      h('p', { id: 'timeline-help', class: 'sr-only' }, 'Left and right arrows move the time, Shift moves further, Page Up and Page Down jump, Enter plays from there.'),
    );
    this.track.addEventListener('pointerdown', (e) => {
      this.dragging = true;
      this.track.setPointerCapture(e.pointerId);
      if (e.shiftKey && this.opts.onSelect) this.selectFrom = this.msAt(e.clientX);
      else this.setCursor(this.msAt(e.clientX));
      e.preventDefault();
      this.el.focus();
    });
    this.track.addEventListener('pointermove', (e) => {
      this.opts.onHover?.(this.msAt(e.clientX), e.clientX);
      if (!this.dragging) this.track.title = formatTime(this.msAt(e.clientX));
      else if (this.selectFrom !== null) this.setSelection([this.selectFrom, this.msAt(e.clientX)]);
      else this.setCursor(this.msAt(e.clientX));
    });
    const release = (e: PointerEvent) => {
      if (!this.dragging) return;
      this.dragging = false;
      if (this.selectFrom !== null) {
        const a = Math.min(this.selectFrom, this.msAt(e.clientX));
        const b = Math.max(this.selectFrom, this.msAt(e.clientX));
        this.selectFrom = null;
        this.setSelection([a, b]);
        this.opts.onSelect?.(a, b);
        return;
      }
      this.setCursor(this.msAt(e.clientX));
      this.opts.onSeek(this.cursor);
    };
    this.track.addEventListener('pointerup', release);
    this.track.addEventListener('pointercancel', () => (this.dragging = false));
    this.track.addEventListener('pointerleave', (e) => this.opts.onHover?.(null, e.clientX));
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    // The tick labels depend on the width (a phone fits fewer).
    new ResizeObserver(() => this.renderTicks()).observe(this.track);
  }

  setWindow(start: number, end: number): void {
    this.start = start;
    this.end = end;
    this.el.setAttribute('aria-valuemin', String(start));
    this.el.setAttribute('aria-valuemax', String(end));
    this.render();
  }
  window(): [number, number] {
    return [this.start, this.end];
  }
  setData(data: TimelineData | null): void {
    this.data = data;
    this.render();
  }
  setSelection(sel: [number, number] | null): void {
    this.selection = sel;
    this.renderSelection();
  }
  // The window's events, oldest first.
  events(): TimelineEvent[] {
    return this.data?.events ?? [];
  }
  // The event being played, drawn raised.
  setCurrentEvent(id: number | null): void {
    this.currentEvent = id;
    for (const m of this.layers.events.children) {
      (m as HTMLElement).classList.toggle('current', Number((m as HTMLElement).dataset.eventId) === id);
    }
  }
  // The window's transactions (the API answers newest first).
  setTransactions(ts: Transaction[]): void {
    this.txs = [...ts].sort((a, b) => a.moment_ms - b.moment_ms || a.id - b.id);
    this.render();
  }
  transactions(): Transaction[] {
    return this.txs;
  }
  // The transaction being played, drawn raised.
  setCurrentTransaction(id: number | null): void {
    this.currentTx = id;
    for (const m of this.layers.tx.children) {
      (m as HTMLElement).classList.toggle('current', Number((m as HTMLElement).dataset.transaction) === id);
    }
  }
  getCursor(): number {
    return this.cursor;
  }
  setCursor(ms: number): void {
    this.cursor = Math.min(Math.max(ms, this.start), this.end);
    this.el.setAttribute('aria-valuenow', String(Math.round(this.cursor)));
    this.el.setAttribute('aria-valuetext', formatDateTime(this.cursor));
    this.cursorEl.style.left = `${this.pct(this.cursor)}%`;
    this.cursorEl.dataset.time = formatTime(this.cursor);
  }

  private step(): number {
    return (this.end - this.start) / 288;  // 5 min of a day, 12.5 s of an hour
  }

  private onKey(e: KeyboardEvent): void {
    const span = this.end - this.start;
    let next: number | null = null;
    const mult = e.shiftKey ? 6 : 1;
    switch (e.key) {
      case 'ArrowLeft':
      case 'ArrowDown':
        next = this.cursor - this.step() * mult;
        break;
      case 'ArrowRight':
      case 'ArrowUp':
        next = this.cursor + this.step() * mult;
        break;
      case 'PageUp':
        next = this.cursor - span / 12;
        break;
      case 'PageDown':
        next = this.cursor + span / 12;
        break;
      case 'Home':
        next = this.start;
        break;
      case 'End':
        next = this.end;
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        window.clearTimeout(this.keyTimer);
        this.keyTimer = undefined;
        this.opts.onSeek(this.cursor);
        return;
      default:
        return;
    }
    e.preventDefault();
    this.setCursor(next);
    window.clearTimeout(this.keyTimer);
    this.keyTimer = window.setTimeout(() => {
      this.keyTimer = undefined;
      this.opts.onSeek(this.cursor);
    }, kKeyCommitMs);
  }

  // The user is moving the cursor (dragging, or arrow keys not yet committed): playback must
  // not move it meanwhile.
  interacting(): boolean {
    return this.dragging || this.keyTimer !== undefined;
  }

  private msAt(clientX: number): number {
    const r = this.track.getBoundingClientRect();
    const f = Math.min(Math.max((clientX - r.left) / Math.max(r.width, 1), 0), 1);
    return this.start + f * (this.end - this.start);
  }

  private pct(ms: number): number {
    return ((ms - this.start) / (this.end - this.start)) * 100;
  }

  private bar(cls: string, a: number, b: number, title: string): HTMLElement | null {
    const s = Math.max(a, this.start);
    const e = Math.min(b, this.end);
    if (e <= s) return null;
    const el = h('div', { class: cls, title });
    el.style.left = `${this.pct(s)}%`;
    // At least a pixel's worth, so that a 2 s recording in a day view is still visible.
    el.style.width = `max(2px, ${this.pct(e) - this.pct(s)}%)`;
    return el;
  }

  private render(): void {
    const d = this.data;
    mount(
      this.layers.rec,
      (d?.recorded ?? []).map((r) => this.bar('range', r.start_ms, r.end_ms, `Recorded ${formatTime(r.start_ms)} – ${formatTime(r.end_ms)}`)),
    );
    mount(
      this.layers.gaps,
      (d?.gaps ?? []).map((g) => this.bar('gap', g.start_ms, g.end_ms, `Not recorded ${formatTime(g.start_ms)} – ${formatTime(g.end_ms)}: ${g.reason}`)),
    );
    mount(this.layers.events, (d?.events ?? []).map((e) => this.marker(e)));
    mount(this.layers.tx, this.txs.map((t) => this.txMarker(t)));
    this.renderSelection();
    this.renderTicks();
    this.setCursor(this.cursor);
  }

  private marker(e: TimelineEvent): HTMLElement | null {
    // An open event reaches up to its last sighting so far.
    const el = this.bar(`event-marker type-${e.type} ${e.armed ? 'armed' : 'unarmed'}${e.id === this.currentEvent ? ' current' : ''}`,
      e.start_ms, Math.max(e.end_ms, e.start_ms + 1), `${describeEvent(e)} — click to play`);
    if (!el) return null;
    el.dataset.eventId = String(e.id);
    el.dataset.startMs = String(e.start_ms);
    // Its own click, not the start of a drag on the track.
    el.addEventListener('pointerdown', (ev) => ev.stopPropagation());
    el.addEventListener('click', () => this.opts.onEvent?.(e));
    return el;
  }

  private txMarker(t: Transaction): HTMLElement | null {
    const el = this.bar(`tx-marker${t.id === this.currentTx ? ' current' : ''}`, t.moment_ms, t.moment_ms + 1,
      `${kindLabel(t.kind)} ${money(t.total_minor, t.currency)} at till ${t.till}, ${formatTime(t.moment_ms)} — click to play with the receipt`);
    if (!el) return null;
    el.dataset.transaction = String(t.id);
    el.dataset.momentMs = String(t.moment_ms);
    el.addEventListener('pointerdown', (ev) => ev.stopPropagation());
    el.addEventListener('click', () => this.opts.onTransaction?.(t));
    return el;
  }

  private renderSelection(): void {
    const s = this.selection;
    mount(this.layers.sel, s ? this.bar('selection', Math.min(...s), Math.max(...s), 'Selected for export') : null);
  }

  private renderTicks(): void {
    const span = this.end - this.start;
    // As many labels as fit (60 px each: "12:00 AM" is about 50), on round steps.
    const fit = Math.max(2, Math.floor((this.track.clientWidth || 1200) / 60));
    const every = [10, 15, 30, 60, 120, 180, 360].map((m) => m * 60_000).find((e) => span / e + 1 <= fit) ?? 12 * 3600_000;
    const labels: HTMLElement[] = [];
    // Ticks on the local clock's round times (local midnight is the start of a day window).
    for (let t = this.start; t <= this.end; t += every) {
      const el = h('span', {}, formatShortTime(t));
      el.style.left = `${this.pct(t)}%`;
      labels.push(el);
    }
    mount(this.ticks, labels);
  }

  // The recorded range holding `ms`, or the next one after it.
  playableFrom(ms: number): number | null {
    for (const r of this.data?.recorded ?? []) {
      if (ms < r.end_ms) return Math.max(ms, r.start_ms);
    }
    return null;
  }
}
