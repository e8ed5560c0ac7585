// Times on screen are in the browser's time zone; the API speaks UTC milliseconds since 1970.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const shortTimeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });

export const formatTime = (ms: number): string => timeFmt.format(ms);
export const formatShortTime = (ms: number): string => shortTimeFmt.format(ms);
export const formatDateTime = (ms: number): string => dateTimeFmt.format(ms);
export const formatDay = (ms: number): string => dayFmt.format(ms);
export const timeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

// Local midnight at or before `ms`, and the next one (not +24 h: days around a DST change
// are 23 or 25 hours long).
export function dayStart(ms: number): number {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}
export function nextDayStart(ms: number): number {
  const d = new Date(dayStart(ms));
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}
export function prevDayStart(ms: number): number {
  const d = new Date(dayStart(ms));
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1).getTime();
}

// "YYYY-MM-DD" of the local day, for <input type="date">.
export function dateInputValue(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
export function parseDateInput(v: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return null;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime();
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// "YYYY-MM-DDTHH:MM" of the local time, for <input type="datetime-local">, and back (the
// browser reads a date-time without an offset as local time).
export function dateTimeInputValue(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${dateInputValue(ms)}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function parseDateTimeInput(v: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v);
  if (!m) return null;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)).getTime();
}
