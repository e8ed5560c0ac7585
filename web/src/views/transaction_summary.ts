// The daily summary of the tills (issue 19; GET /api/transactions/summary, docs/transactions.md
// "Daily summary"): per till and local day, the transactions counted and summed by kind and by
// payment method, the net (sales minus refunds) and the exceptions raised, each linked to its
// event; with the same figures as a CSV download. One card per till and day, so that a phone
// shows it without sideways scrolling.
import { api, type TransactionSummaryDay } from '../api';
import { type Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { dateInputValue, formatTime } from '../time';
import { kindLabel } from '../transaction_receipt';

const kKinds = ['sale', 'refund', 'void', 'no_sale', 'drawer_open', 'drawer_close'];
const kMethods = ['qr', 'card', 'cash', 'other', 'none'];
// Amounts as the till counts them (no currency: a summary adds what one till took).
const amount = (minor: number) => (minor / 100).toFixed(2);

function dayCard(d: TransactionSummaryDay): HTMLElement {
  const kinds = kKinds.filter((k) => d.by_kind[k]?.count);
  const methods = kMethods.filter((m) => d.by_method[m]?.count);
  return h('section', { class: 'card summary-day', 'data-till': d.till, 'data-day': d.day },
    h('h2', {}, `${d.till_name || d.till} — ${d.day}`),
    h('p', {}, `${d.count} transaction${d.count === 1 ? '' : 's'}, net ${amount(d.net_minor)}`,
      d.exceptions ? h('strong', { class: 'bad-text' }, ` · ${d.exceptions} exception${d.exceptions === 1 ? '' : 's'}`) : ''),
    kinds.length
      ? h('table', { class: 'table compact', 'aria-label': 'By kind' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Kind'), h('th', {}, 'Count'), h('th', {}, 'Total'))),
          h('tbody', {}, kinds.map((k) => h('tr', { 'data-kind': k }, h('td', {}, kindLabel(k)), h('td', {}, d.by_kind[k].count), h('td', {}, amount(d.by_kind[k].total_minor))))))
      : null,
    methods.length
      ? h('table', { class: 'table compact', 'aria-label': 'By method' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Method'), h('th', {}, 'Count'), h('th', {}, 'Sales'), h('th', {}, 'Refunds'))),
          h('tbody', {}, methods.map((m) => h('tr', { 'data-method': m }, h('td', {}, m === 'none' ? 'no method' : m.toUpperCase()),
            h('td', {}, d.by_method[m].count), h('td', {}, amount(d.by_method[m].sales_minor)), h('td', {}, amount(d.by_method[m].refunds_minor))))))
      : null,
    d.exception_events.length
      ? h('ul', { 'aria-label': 'Exceptions' }, d.exception_events.map((e) =>
          h('li', {}, `${formatTime(e.at_ms)} `, h('a', { href: `#/events?type=transaction&from=${e.at_ms}&to=${e.at_ms + 1000}` }, e.reason))))
      : null);
}

export function transactionSummaryScreen(root: HTMLElement, _ctx: Ctx, q: URLSearchParams): () => void {
  let stopped = false;
  const today = dateInputValue(Date.now());
  const till = h('input', { type: 'text', name: 'till', placeholder: 'all tills', size: 10, value: q.get('till') ?? '' });
  const from = h('input', { type: 'date', name: 'from_day', value: q.get('from_day') ?? today, required: true });
  const to = h('input', { type: 'date', name: 'to_day', value: q.get('to_day') ?? q.get('from_day') ?? today, required: true });
  const status = h('div', { 'aria-live': 'polite' });
  const csv = h('a', { class: 'button', download: '', hidden: true }, 'Download CSV');
  const list = h('div', { class: 'summary-days' });
  const form = h('form', { class: 'form-grid' },
    h('label', { class: 'field' }, h('span', {}, 'Till'), till),
    h('label', { class: 'field' }, h('span', {}, 'From'), from),
    h('label', { class: 'field' }, h('span', {}, 'To'), to),
    h('button', { type: 'submit' }, 'Show'), csv);
  mount(root, h('h1', {}, 'Daily summary'),
    h('p', { class: 'small' }, h('a', { href: '#/transactions' }, '← Transactions'),
      ' · days run from midnight to midnight in the server\'s events time zone'),
    form, status, list);

  const load = async () => {
    const params = { till: till.value.trim() || undefined, from_day: from.value, to_day: to.value || from.value };
    history.replaceState(null, '', `#/transactions/summary?${new URLSearchParams(Object.entries(params).filter(([, v]) => v) as [string, string][])}`);
    mount(status, spinner('Adding up…'));
    list.replaceChildren();
    csv.hidden = true;
    try {
      const r = await api.transactionSummary(params);
      if (stopped) return;
      mount(list, r.days.map(dayCard));
      csv.href = api.transactionSummaryCsvUrl(params);
      csv.hidden = false;
      mount(status, r.days.length ? null : notice('empty', 'No till to summarise.'));
    } catch (e) {
      if (!stopped) mount(status, notice('error', `Cannot make the summary: ${(e as Error).message}`));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  void load();
  return () => {
    stopped = true;
  };
}
