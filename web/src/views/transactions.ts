// The transactions page (issue 19): the tills' transactions the user may see (GET
// /api/transactions), newest first, filtered by till, time range, kind, method, amount range and
// words in the items or receipt (FTS5), each with the counter camera's picture at its moment
// (GET /api/transactions/{id}/picture.jpg, loaded as the row scrolls into view). Clicking one plays its till's first camera from 10 s
// before its moment with the receipt beside the video (playback.ts, transaction_receipt.ts); a
// till without a camera shows the receipt alone.
import { api, type Transaction } from '../api';
import { type Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { formatDateTime, parseDateTimeInput } from '../time';
import { kindLabel, money, ReceiptPanel } from '../transaction_receipt';

const kPageSize = 50;
const kPreRollMs = 10_000;  // playback starts this long before the transaction's moment

// "20", "20.5", "20,50" -> minor units; null when empty or not a number.
function minorOf(v: string): number | null {
  const t = v.trim().replace(',', '.');
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? Math.round(n * 100) : null;
}

export function transactionsScreen(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  let before: number | undefined;
  const till = h('input', { type: 'text', name: 'till', placeholder: 'all tills', size: 10 });
  const from = h('input', { type: 'datetime-local', name: 'from' });
  const to = h('input', { type: 'datetime-local', name: 'to' });
  const kind = h('select', { name: 'kind' }, h('option', { value: '' }, 'Any kind'),
    ['sale', 'refund', 'void', 'no_sale', 'drawer_open', 'drawer_close'].map((k) => h('option', { value: k }, kindLabel(k))));
  const method = h('select', { name: 'method' }, h('option', { value: '' }, 'Any method'),
    ['qr', 'card', 'cash', 'other'].map((m) => h('option', { value: m }, m.toUpperCase())));
  const amountFrom = h('input', { type: 'text', name: 'amount_from', inputmode: 'decimal', size: 8, placeholder: 'from' });
  const amountTo = h('input', { type: 'text', name: 'amount_to', inputmode: 'decimal', size: 8, placeholder: 'to' });
  const text = h('input', { type: 'search', name: 'text', placeholder: 'words in items or receipt' });
  const search = h('button', { type: 'submit' }, 'Search');
  const list = h('tbody', {});
  const status = h('div', { 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true }, 'Load older');
  const detail = h('div', {});
  const form = h('form', { class: 'form-grid' },
    h('label', { class: 'field' }, h('span', {}, 'Till'), till),
    h('label', { class: 'field' }, h('span', {}, 'From'), from),
    h('label', { class: 'field' }, h('span', {}, 'To'), to),
    h('label', { class: 'field' }, h('span', {}, 'Kind'), kind),
    h('label', { class: 'field' }, h('span', {}, 'Method'), method),
    h('label', { class: 'field' }, h('span', {}, 'Amount'), amountFrom, ' – ', amountTo),
    h('label', { class: 'field' }, h('span', {}, 'Text'), text),
    search);
  mount(root, h('h1', {}, 'Transactions'),
    h('p', { class: 'small muted' }, 'Card numbers are stored masked; there is no search by payer. ',
      h('a', { href: '#/transactions/summary' }, 'Daily summary per till')),
    form, status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Picture'), h('th', {}, 'Moment'), h('th', {}, 'Till'), h('th', {}, 'Kind'),
        h('th', {}, 'Method'), h('th', {}, 'Total'), h('th', {}, 'Items'))), list)),
    more, detail);

  const show = async (id: number) => {
    mount(detail, spinner('Loading the transaction…'));
    try {
      const t = await api.transaction(id);
      if (stopped) return;
      const camera = t.cameras?.[0];
      if (camera) {
        location.hash = `#/playback/${encodeURIComponent(camera)}?t=${t.moment_ms - kPreRollMs}&transaction=${t.id}`;
        return;
      }
      const panel = new ReceiptPanel(t, notice('info', 'This till has no camera.'));
      panel.update(Number.MAX_SAFE_INTEGER);  // no video to follow: the whole receipt
      mount(detail, panel.el);
    } catch (e) {
      if (!stopped) mount(detail, notice('error', (e as Error).message));
    }
  };

  const rowOf = (t: Transaction) => {
    const picture = h('img', { class: 'tx-picture', src: `/api/transactions/${t.id}/picture.jpg`, loading: 'lazy', alt: `The counter at ${formatDateTime(t.moment_ms)}` });
    // No footage then (or no camera): a placeholder, not a broken image.
    picture.addEventListener('error', () => picture.replaceWith(h('span', { class: 'tx-picture none small muted' }, 'no picture')));
    const row = h('tr', { 'data-transaction': t.id, tabindex: 0, class: 'clickable' },
      h('td', {}, picture),
      h('td', { class: 'nowrap' }, formatDateTime(t.moment_ms)),
      h('td', {}, t.till),
      h('td', {}, t.kind.replace('_', ' ')),
      h('td', {}, t.method ?? ''),
      h('td', { class: 'nowrap' }, money(t.total_minor, t.currency)),
      h('td', { class: 'small' }, t.items.map((i) => i.text).join(', ')));
    row.addEventListener('click', () => void show(t.id));
    row.addEventListener('keydown', (e) => { if (e.key === 'Enter') void show(t.id); });
    return row;
  };

  const load = async (append: boolean) => {
    if (!append) {
      before = undefined;
      list.replaceChildren();
    }
    mount(status, spinner('Searching…'));
    try {
      const r = await api.transactions({
        till: till.value.trim() || undefined,
        from_ms: parseDateTimeInput(from.value) ?? undefined,
        to_ms: parseDateTimeInput(to.value) ?? undefined,
        kind: kind.value || undefined,
        method: method.value || undefined,
        amount_from: minorOf(amountFrom.value) ?? undefined,
        amount_to: minorOf(amountTo.value) ?? undefined,
        text: text.value.trim() || undefined,
        before_id: before,
        limit: kPageSize,
      });
      if (stopped) return;
      list.append(...r.transactions.map(rowOf));
      before = r.next_before_id;
      more.hidden = before === undefined;
      mount(status, list.children.length ? null : notice('empty', 'No transactions match.'));
    } catch (e) {
      if (!stopped) mount(status, notice('error', `Cannot search: ${(e as Error).message}`));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load(false);
  });
  more.addEventListener('click', () => void load(true));
  void load(false);
  return () => {
    stopped = true;
  };
}
