// "Hold this range": the form an operator fills to put an evidence hold (POST /api/holds) on
// cameras and a time range, with a name and a reason. Used on the playback screen (the
// timeline's selection) and on the Holds screen (times typed in).
import { api, type Hold } from './api';
import { h, mount, notice } from './dom';
import { formatDateTime, formatTime } from './time';

export interface HoldFormOptions {
  // The range to hold, or null when none is chosen (the form then says so).
  range: () => [number, number] | null;
  cameras: () => string[];
  onAdded?: (hold: Hold) => void;
}

export function holdForm(opts: HoldFormOptions): HTMLElement {
  const name = h('input', { name: 'hold_name', required: true, maxlength: 200, autocomplete: 'off', placeholder: 'e.g. case 2026-118' });
  const reason = h('input', { name: 'hold_reason', maxlength: 2000, autocomplete: 'off', placeholder: 'why this footage must be kept' });
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Put a hold');
  const form = h('form', { class: 'hold-form' },
    h('div', { class: 'form-grid' },
      h('label', { class: 'field' }, h('span', {}, 'Hold name'), name),
      h('label', { class: 'field' }, h('span', {}, 'Reason'), reason)),
    h('div', { class: 'row' }, submit),
    message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const range = opts.range();
    if (!range || range[1] <= range[0]) {
      mount(message, notice('error', 'Choose the range to hold first.'));
      return;
    }
    submit.disabled = true;
    try {
      const hold = await api.addHold({ name: name.value.trim(), reason: reason.value.trim(), cameras: opts.cameras(), from_ms: range[0], to_ms: range[1] });
      mount(message, notice('info', `Held: ${hold.cameras.join(', ')} from ${formatDateTime(hold.from_ms)} to ${formatTime(hold.to_ms)}. Retention keeps it until an admin releases the hold.`));
      opts.onAdded?.(hold);
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
