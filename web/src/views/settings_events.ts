// Admin: how detections become events ([events]: minimum duration, merge gap, pre/post roll, the
// schedules' time zone), PATCH /api/settings/events. They apply to new events at once; an event
// that is open finishes under the values it started with.
import { api, type EventSettings } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { timeZone } from '../time';

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

const seconds = (ms: number) => String(ms / 1000);

export function eventsSettings(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  mount(root, h('h1', {}, 'Events'), spinner('Loading the event settings…'));
  const show = (s: EventSettings) => {
    const num = (name: string, ms: number) => h('input', { name, type: 'number', min: 0, step: 0.1, value: seconds(ms), required: true });
    const minDur = num('min_duration', s.min_duration_ms);
    const gap = num('merge_gap', s.merge_gap_ms);
    const pre = num('pre_roll', s.pre_roll_ms);
    const post = num('post_roll', s.post_roll_ms);
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    const tz = h('input', { name: 'time_zone', value: s.time_zone, list: 'tz-list', placeholder: 'the host\'s time zone', autocomplete: 'off', spellcheck: 'false' });
    const message = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const form = h('form', { class: 'card', 'aria-labelledby': 'ev-title' },
      h('h2', { id: 'ev-title' }, 'From detections to events'),
      h('div', { class: 'form-grid' },
        field('Minimum duration (s)', minDur, 'the condition must hold this long before an event starts'),
        field('Merge gap (s)', gap, 'an event ends after this long without the condition; a new start within it continues the event'),
        field('Pre-roll (s)', pre, 'footage kept and exported before an event'),
        field('Post-roll (s)', post, 'footage kept and exported after an event'),
        field('Time zone of schedules', tz, `IANA name, e.g. Europe/Berlin; empty: the host's zone (this browser: ${timeZone()})`),
      ),
      h('datalist', { id: 'tz-list' }, zones.map((z) => h('option', { value: z }))),
      h('p', { class: 'small muted' }, 'Changes apply to new events at once; an event in progress finishes under the values it started with. The queue size (queue_limit) needs a restart.'),
      h('div', { class: 'row' }, save),
      message,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const ms = (i: HTMLInputElement) => Math.round(Number(i.value) * 1000);
      save.disabled = true;
      mount(message, spinner('Saving…'));
      try {
        await api.setEventSettings({
          min_duration_ms: ms(minDur),
          merge_gap_ms: ms(gap),
          pre_roll_ms: ms(pre),
          post_roll_ms: ms(post),
          time_zone: tz.value.trim(),
        });
        mount(message, notice('info', 'Saved: new events use these settings.'));
      } catch (err) {
        mount(message, notice('error', (err as Error).message));
      } finally {
        save.disabled = false;
      }
    });
    mount(root, h('h1', {}, 'Events'), form);
  };
  api
    .eventSettings()
    .then((s) => {
      if (!stopped) show(s);
    })
    .catch((e: Error) => {
      if (!stopped) mount(root, h('h1', {}, 'Events'), notice('error', `Cannot load the event settings: ${e.message}`));
    });
  return () => {
    stopped = true;
  };
}
