// Which recorded stream of a camera a player shows (docs/design/playback.md, "Streams"): a camera
// recorded with record_sub has a main and a sub stream. The sub stream plays where the picture is
// small (a phone-sized screen, a tile of the side-by-side view), the main stream where it is big
// (full screen), and the sub stream whenever the main stream is H.265, which Chromium cannot play.
import type { Camera } from './api';

export type Stream = 'main' | 'sub';

// Screens at most this wide are phone-sized: the sub stream's resolution is all they show.
export const kPhoneQuery = '(max-width: 600px)';

export interface Viewing {
  fullScreen: boolean;  // the player fills the screen
  sideBySide: boolean;  // the player is one tile of the side-by-side view
  phone: boolean;       // the screen is phone-sized (kPhoneQuery)
}

export function hasSub(cam: Pick<Camera, 'streams'>): boolean {
  return cam.streams?.includes('sub') ?? false;
}

// The main stream's codec comes from the camera's status (null when not known: the player then
// falls back to the sub stream when the server refuses the main one as unplayable).
export function chooseStream(cam: Pick<Camera, 'streams'>, mainCodec: string | null, v: Viewing): Stream {
  if (!hasSub(cam)) return 'main';
  if (mainCodec === 'hevc') return 'sub';
  if (v.fullScreen) return 'main';
  return v.phone || v.sideBySide ? 'sub' : 'main';
}

export function isPhone(): boolean {
  return window.matchMedia(kPhoneQuery).matches;
}
