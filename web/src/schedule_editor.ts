// The schedules editor of the camera settings: [[camera.schedule]] entries (docs/config.md,
// "Armed"). Each entry arms alerts for a zone (or every event), some event types (or all), some
// days, from/to local times of the recorder's schedule time zone — which is stated, because it
// is not necessarily the browser's.
import { eventTypes, weekDays, type Schedule } from './api';
import { h, mount } from './dom';
import { timeZone } from './time';

const typeLabels: Record<string, string> = {
  motion: 'Motion',
  tamper_covered: 'Covered',
  tamper_defocused: 'Defocused',
  tamper_moved: 'Moved',
  signal_lost: 'Signal lost',
};
const dayLabels: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

export interface ScheduleEditor {
  element: HTMLElement;
  schedules(): Schedule[];
  // The zones (not masks) a schedule may name; entries naming a zone that is gone keep it and
  // the server says what is wrong when saving.
  setZones(names: string[]): void;
}

// `zoneName`: the recorder's schedule time zone (null: the recorder host's local zone).
export function scheduleEditor(initial: Schedule[], zoneName: string | null): ScheduleEditor {
  const entries: Schedule[] = initial.map((s) => ({ ...s, types: [...s.types], days: [...s.days] }));
  let zones: string[] = [];
  const list = h('div', { class: 'schedule-list' });
  const add = h('button', { type: 'button', name: 'add_schedule' }, 'Add schedule');
  add.addEventListener('click', () => {
    entries.push({ zone: null, types: [], days: [...weekDays], from: '22:00', to: '06:00' });
    render();
    list.querySelector<HTMLElement>('.schedule-row:last-child select')?.focus();
  });

  const render = () => {
    if (!entries.length) {
      mount(list, h('p', { class: 'muted small' }, 'No schedules: every event alerts (MQTT, webhooks) at any time.'));
      return;
    }
    mount(
      list,
      entries.map((s, i) => {
        const n = i + 1;
        const zone = h('select', { name: 'schedule_zone' },
          h('option', { value: '' }, 'All events'),
          [...new Set([...zones, ...(s.zone ? [s.zone] : [])])].map((z) => h('option', { value: z }, `Zone ${z}`)));
        zone.value = s.zone ?? '';
        zone.addEventListener('change', () => (s.zone = zone.value || null));
        const types = h('fieldset', { class: 'inline-checks' }, h('legend', {}, 'Types (none ticked: all)'),
          eventTypes.map((t) => {
            const box = h('input', { type: 'checkbox', name: 'schedule_type', value: t, checked: s.types.includes(t) });
            box.addEventListener('change', () => (s.types = eventTypes.filter((x) => x === t ? box.checked : s.types.includes(x))));
            return h('label', { class: 'check' }, box, typeLabels[t]);
          }));
        const days = h('fieldset', { class: 'inline-checks' }, h('legend', {}, 'Days'),
          weekDays.map((d) => {
            const box = h('input', { type: 'checkbox', name: 'schedule_day', value: d, checked: s.days.includes(d) });
            box.addEventListener('change', () => (s.days = weekDays.filter((x) => x === d ? box.checked : s.days.includes(x))));
            return h('label', { class: 'check' }, box, dayLabels[d]);
          }));
        // <input type=time> cannot say 24:00: the end of the day is shown as 00:00, which means
        // the same for an end time (to <= from runs into the next day).
        const from = h('input', { type: 'time', name: 'schedule_from', value: s.from === '24:00' ? '00:00' : s.from, required: true });
        const to = h('input', { type: 'time', name: 'schedule_to', value: s.to === '24:00' ? '00:00' : s.to, required: true });
        from.addEventListener('change', () => (s.from = from.value || '00:00'));
        to.addEventListener('change', () => (s.to = to.value || '00:00'));
        const remove = h('button', { type: 'button', class: 'danger', name: 'schedule_delete' }, 'Delete');
        remove.addEventListener('click', () => {
          entries.splice(i, 1);
          render();
        });
        return h('fieldset', { class: 'schedule-row', 'aria-label': `Schedule ${n}` },
          h('legend', {}, `Schedule ${n}`),
          h('div', { class: 'row' },
            h('label', { class: 'field' }, h('span', {}, 'Applies to'), zone),
            h('label', { class: 'field' }, h('span', {}, 'From'), from),
            h('label', { class: 'field' }, h('span', {}, 'To'), to),
            remove),
          days, types);
      }),
    );
  };

  const where = zoneName ?? "the recorder's local time zone";
  const browser = timeZone();
  const element = h(
    'div',
    { class: 'schedule-editor' },
    h('p', { class: 'small', 'data-schedule-zone': zoneName ?? '' },
      `Times are in ${where}`,
      zoneName && zoneName !== browser ? ` (your browser is in ${browser})` : zoneName ? ' (as your browser)' : ` (set [events] time_zone to name it; your browser is in ${browser})`,
      '. An event that a schedule applies to alerts only within its times; others always alert. A "to" at or before "from" runs into the next morning.'),
    list,
    add,
  );
  render();
  return {
    element,
    schedules: () =>
      entries.map((s) => ({
        zone: s.zone,
        types: [...s.types],
        days: [...s.days],
        from: s.from,
        to: s.to === '00:00' ? '24:00' : s.to,
      })),
    setZones(names) {
      zones = names;
      render();
    },
  };
}
