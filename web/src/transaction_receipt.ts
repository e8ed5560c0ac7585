// The receipt of one transaction beside the video that plays its moment (the playback screen
// with ?transaction=<id>, opened from the transactions page). A printer tap's receipt lines
// carry the time each one arrived: a line appears when the video reaches it, so the receipt
// prints along with the footage. A transaction posted over HTTP or by a webhook has no printed
// lines, only items: they are all shown at once, from the start.
import { type Transaction } from './api';
import { h, mount } from './dom';
import { formatDateTime, formatTime } from './time';

export const money = (minor: number | null, currency: string) =>
  minor === null ? '' : `${(minor / 100).toFixed(2)} ${currency}`.trim();

export const kindLabel = (kind: string) => kind.replace('_', ' ');

export class ReceiptPanel {
  readonly el: HTMLElement;
  private readonly lines: HTMLElement[] = [];
  private readonly waiting: HTMLElement;

  // `extra`: controls shown under the receipt (the playback screen's "this happened here").
  constructor(t: Transaction, extra: HTMLElement | null = null) {
    const printed = t.receipt ?? [];
    this.waiting = h('p', { class: 'small muted', hidden: true });
    let body: HTMLElement;
    if (printed.length) {
      body = h('pre', { class: 'receipt', 'aria-label': 'Receipt' });
      for (const l of printed) {
        const line = h('span', { class: 'receipt-line', 'data-at-ms': l.at_ms, hidden: true }, `${l.text}\n`);
        this.lines.push(line);
        body.append(line);
      }
    } else {
      body = h('pre', { class: 'receipt', 'aria-label': 'Receipt' },
        [...t.items.map((i) => `${i.quantity} × ${i.text}  ${money(i.unit_minor, t.currency)}\n`),
          `${kindLabel(t.kind).toUpperCase()}${t.method ? ` ${t.method.toUpperCase()}` : ''}  ${money(t.total_minor, t.currency)}`].join(''));
    }
    this.el = h('aside', { class: 'card receipt-panel', 'aria-label': 'Transaction', 'data-transaction': t.id },
      h('h2', {}, `${kindLabel(t.kind)} ${money(t.total_minor, t.currency)}`),
      h('p', { class: 'small' }, `${formatDateTime(t.moment_ms)} · till ${t.till}`,
        t.reference ? ` · ref ${t.reference}` : '', t.cashier ? ` · ${t.cashier}` : ''),
      body, this.waiting,
      t.text ? h('p', { class: 'small' }, t.text) : null,
      extra);
    this.update(null);
  }

  // Shows the printed lines that arrived by `wallMs` (the frame on screen; null: nothing plays).
  update(wallMs: number | null): void {
    if (!this.lines.length) return;
    let shown = 0;
    for (const line of this.lines) {
      const on = wallMs !== null && Number(line.dataset.atMs) <= wallMs;
      line.hidden = !on;
      if (on) shown++;
    }
    this.el.dataset.linesShown = String(shown);
    this.waiting.hidden = shown === this.lines.length;
    if (shown < this.lines.length) {
      const next = Number(this.lines[shown].dataset.atMs);
      mount(this.waiting, shown ? `More lines print until ${formatTime(Number(this.lines[this.lines.length - 1].dataset.atMs))}.` : `The receipt prints at ${formatTime(next)}.`);
    }
  }
}
