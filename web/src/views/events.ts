// EVENTS: the motion events page. The events API is being built on branch `events` and is not
// on main yet; this screen is its place in the navigation. When the API lands: list events with
// their snapshot, filter by camera/type/zone/time, and open the clip in the playback screen
// (#/playback/<camera>?t=<event start ms>), and add markers to Timeline (timeline.ts, the
// "events" layer).
import type { Ctx } from '../app';
import { h, mount, notice } from '../dom';

export function eventsScreen(root: HTMLElement, _ctx: Ctx): void {
  mount(root, h('h1', {}, 'Events'), notice('info', 'Motion events are not available in this version of vigil yet. Recordings are on each camera\'s timeline.'));
}
