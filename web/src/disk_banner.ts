// The disk warning shown on every screen: GET /api/system/status every 20 s while someone is
// logged in. Admins get a banner that says what is wrong and links to Storage & retention;
// everyone else a one-line status (they cannot change anything, but should know that footage
// may be missing). A camera whose recorder reports a full disk counts as well.
import { api, type Me, type SystemStatus } from './api';
import { formatBytes } from './bytes';
import { h, mount } from './dom';

const kRefreshMs = 20_000;

let last: SystemStatus | null = null;
let who: Me | null = null;
let timer: number | undefined;
const slots = new Set<HTMLElement>();

function render(slot: HTMLElement): void {
  const s = last;
  if (!s || !who || (!s.disk.low && !s.disk_full_cameras.length)) {
    // No role while empty: screens look up their own [role=alert] messages.
    slot.hidden = true;
    slot.removeAttribute('role');
    slot.replaceChildren();
    return;
  }
  slot.hidden = false;
  slot.setAttribute('role', who.role === 'admin' ? 'alert' : 'status');
  const admin = who.role === 'admin';
  const parts: string[] = [];
  if (s.disk.low) {
    const of = s.disk.total_bytes ? ` of ${formatBytes(s.disk.total_bytes)}` : '';
    parts.push(`Disk nearly full: ${formatBytes(s.disk.free_bytes)} free${of} (warning below ${formatBytes(s.disk.low_below_bytes)}).`);
  }
  if (s.disk_full_cameras.length) {
    parts.push(`Not recording — disk full: ${s.disk_full_cameras.join(', ')}.`);
  }
  if (admin) {
    mount(
      slot,
      h('strong', {}, 'Storage warning. '),
      parts.join(' '),
      ' ',
      h('a', { href: '#/settings/storage' }, 'Storage & retention'),
    );
    slot.className = 'banner bad';
  } else {
    mount(slot, parts.join(' '), ' Tell an administrator.');
    slot.className = 'banner statusline';
  }
}

async function refresh(): Promise<void> {
  try {
    last = await api.systemStatus();
  } catch {
    return;  // the screens report vigil being unreachable themselves
  }
  for (const slot of slots) {
    if (slot.isConnected) render(slot);
    else slots.delete(slot);
  }
}

// A slot for the banner in a freshly built page; filled from the last answer at once.
export function bannerSlot(): HTMLElement {
  const slot = h('div', { id: 'system-banner', hidden: true });
  slots.add(slot);
  render(slot);
  if (who) void refresh();  // every screen change asks again: it costs one small GET
  return slot;
}

export function startBanner(me: Me): void {
  stopBanner();
  who = me;
  void refresh();
  timer = window.setInterval(() => void refresh(), kRefreshMs);
}

export function stopBanner(): void {
  if (timer !== undefined) window.clearInterval(timer);
  timer = undefined;
  who = null;
  last = null;
}

// After a settings change that may end the warning (retention freed space).
export const refreshBanner = (): Promise<void> => refresh();
