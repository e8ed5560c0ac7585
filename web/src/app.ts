// What every screen gets: who is logged in, and how to go elsewhere. A screen renders into its
// root element and returns what to do when it is left (stop players, timers, requests).
import type { Me } from './api';

export interface Ctx {
  me: Me;
  go: (hash: string) => void;
  // Re-reads /api/me and shows the login screen when the session has ended.
  signedOut: () => void;
  // Re-reads /api/me and renders the page again (after enrolling a second factor).
  refreshMe: () => Promise<void>;
}

export type Cleanup = () => void;
export type Screen = (root: HTMLElement, ctx: Ctx, params: URLSearchParams, ...path: string[]) => Cleanup | void;

export const isAdmin = (me: Me) => me.role === 'admin';
export const mayExport = (me: Me) => me.role === 'admin' || me.role === 'operator';
