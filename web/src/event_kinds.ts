// How events read on screen: the words for each type (the API's names are for programs), the
// pre-roll the UI plays before an event, and the one-line description used in titles and
// announcements.
import type { TimelineEvent, VigilEvent } from './api';
import { formatDuration, formatTime } from './time';

export const kEventTypes: { type: string; label: string }[] = [
  { type: 'motion', label: 'Motion' },
  { type: 'tamper_covered', label: 'Lens covered' },
  { type: 'tamper_defocused', label: 'Out of focus' },
  { type: 'tamper_moved', label: 'View moved' },
  { type: 'signal_lost', label: 'Signal lost' },
];

// Playing an event starts this much before it: analysis dates an event at its first frame, and
// a moment of what came before shows where the person came from.
export const kPreRollMs = 2000;

export function eventTypeLabel(type: string): string {
  return kEventTypes.find((t) => t.type === type)?.label ?? type;
}

export function armedLabel(e: { armed: boolean }): string {
  return e.armed ? 'armed' : 'not armed';
}

// "Motion 19:42:10 – 19:42:31 (21 s, armed)"; an open event is "ongoing".
export function describeEvent(e: TimelineEvent | VigilEvent): string {
  const span = e.open ? `from ${formatTime(e.start_ms)}, ongoing` : `${formatTime(e.start_ms)} – ${formatTime(e.end_ms)}, ${formatDuration(e.end_ms - e.start_ms)}`;
  return `${eventTypeLabel(e.type)} ${span} (${armedLabel(e)})`;
}
