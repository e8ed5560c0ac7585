// vigil's web UI: finds out who is logged in, then shows the screen the URL's hash names
// (#/, #/live/<camera>, #/playback/<camera>?t=<ms>, #/events, #/settings/...). Hash URLs keep
// every screen reloadable and linkable with no server-side routing.
import './style.css';
import { api, ApiError, onUnauthenticated, setCsrfToken, type Me } from './api';
import { isAdmin, type Cleanup, type Ctx, type Screen } from './app';
import { bannerSlot, startBanner, stopBanner } from './disk_banner';
import { h, mount, notice, spinner } from './dom';
import { accountScreen } from './views/account';
import { tokensScreen } from './views/tokens';
import { auditScreen } from './views/audit';
import { loginScreen, setupScreen } from './views/auth';
import { eventsScreen } from './views/events';
import { gridScreen } from './views/grid';
import { liveScreen } from './views/live';
import { playbackScreen } from './views/playback';
import { camerasSettings } from './views/settings_cameras';
import { eventsSettings } from './views/settings_events';
import { notificationsSettings } from './views/settings_notifications';
import { holdsScreen } from './views/holds';
import { transactionsScreen } from './views/transactions';
import { transactionSummaryScreen } from './views/transaction_summary';
import { storageSettings } from './views/settings_storage';
import { usersSettings } from './views/settings_users';
import { verifyEvidenceScreen } from './views/verify_evidence';

const app = document.getElementById('app')!;
let me: Me | null = null;
let cleanup: Cleanup | void;

const routes: { pattern: RegExp; screen: Screen; admin?: boolean; nav: string }[] = [
  { pattern: /^\/$/, screen: gridScreen, nav: 'live' },
  { pattern: /^\/live\/([A-Za-z0-9_-]+)$/, screen: liveScreen, nav: 'live' },
  { pattern: /^\/playback\/([A-Za-z0-9_-]+)$/, screen: playbackScreen, nav: 'live' },
  { pattern: /^\/events$/, screen: eventsScreen, nav: 'events' },
  { pattern: /^\/holds$/, screen: holdsScreen, nav: 'holds' },
  { pattern: /^\/transactions$/, screen: transactionsScreen, nav: 'transactions' },
  { pattern: /^\/transactions\/summary$/, screen: transactionSummaryScreen, nav: 'transactions' },
  { pattern: /^\/account$/, screen: accountScreen, nav: 'account' },
  { pattern: /^\/tokens$/, screen: tokensScreen, nav: 'account' },
  { pattern: /^\/verify$/, screen: verifyEvidenceScreen, nav: 'verify' },
  { pattern: /^\/settings\/cameras$/, screen: camerasSettings, admin: true, nav: 'settings' },
  { pattern: /^\/settings\/users$/, screen: usersSettings, admin: true, nav: 'settings' },
  { pattern: /^\/settings\/notifications$/, screen: notificationsSettings, admin: true, nav: 'settings' },
  { pattern: /^\/settings\/storage$/, screen: storageSettings, admin: true, nav: 'settings' },
  { pattern: /^\/settings\/events$/, screen: eventsSettings, admin: true, nav: 'settings' },
  { pattern: /^\/settings\/audit$/, screen: auditScreen, admin: true, nav: 'settings' },
];

// The settings navigation, in this order.
const settingsPages: [string, string][] = [
  ['cameras', 'Cameras'],
  ['users', 'Users'],
  ['notifications', 'Notifications'],
  ['storage', 'Storage & retention'],
  ['events', 'Events'],
  ['audit', 'Audit log'],
];

function go(hash: string): void {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function leave(): void {
  if (cleanup) cleanup();
  cleanup = undefined;
}

function signedIn(m: Me): void {
  me = m;
  setCsrfToken(m.csrf_token);
  // An admin who must enrol a second factor may read nothing else yet (the banner polls).
  if (m.must_enrol_totp) stopBanner();
  else startBanner(m);
  const h0 = location.hash;
  if (h0 === '#/login' || h0.startsWith('#/setup') || !h0) go('#/');
  else render();
}

function signedOut(): void {
  leave();
  me = null;
  stopBanner();
  setCsrfToken('');
  showAuth(location.hash.startsWith('#/setup') ? 'setup' : 'login');
}

function showAuth(which: 'login' | 'setup'): void {
  leave();
  if (which === 'setup') {
    // The link vigil logs at first start (`vigil setup-url`) carries the one-time token in the
    // fragment, #/setup?token=…: it fills the form and leaves the address bar and history.
    const token = new URLSearchParams(location.hash.split('?')[1] ?? '').get('token') ?? '';
    history.replaceState(null, '', '#/setup');
    setupScreen(app, signedIn, () => showAuth('login'), token);
  } else {
    if (location.hash === '#/setup') history.replaceState(null, '', '#/login');
    loginScreen(app, signedIn, () => showAuth('setup'));
  }
}

function shell(active: string, m: Me): HTMLElement {
  const link = (href: string, text: string, key: string) =>
    h('a', { href, 'aria-current': active === key ? 'page' : undefined }, text);
  const main = h('main', { id: 'main', tabindex: -1 });
  const logout = h('button', { type: 'button', class: 'link' }, 'Log out');
  logout.addEventListener('click', async () => {
    try {
      await api.logout();
    } catch {
      /* the session is gone either way */
    }
    history.replaceState(null, '', '#/login');
    signedOut();
  });
  mount(
    app,
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('a', { href: '#/', class: 'brand' }, 'vigil'),
      h(
        'nav',
        { 'aria-label': 'Main' },
        link('#/', 'Live', 'live'),
        link('#/events', 'Events', 'events'),
        link('#/holds', 'Holds', 'holds'),
        link('#/transactions', 'Transactions', 'transactions'),
        link('#/verify', 'Verify evidence', 'verify'),
        isAdmin(m) ? link('#/settings/cameras', 'Settings', 'settings') : null,
      ),
      h('span', { class: 'spacer' }),
      h('a', { href: '#/account', class: 'who small', 'aria-current': active === 'account' ? 'page' : undefined, title: 'Account and password' }, `${m.name} (${m.role})`),
      logout,
    ),
    active === 'settings'
      ? h(
          'nav',
          { class: 'subnav', 'aria-label': 'Settings' },
          settingsPages.map(([s, label]) =>
            h('a', { href: `#/settings/${s}`, 'aria-current': location.hash.startsWith(`#/settings/${s}`) ? 'page' : undefined }, label),
          ),
        )
      : null,
    bannerSlot(),
    main,
  );
  return main;
}

function render(): void {
  if (!me) return;
  leave();
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  // The server allows such an admin nothing but enrolment: the account page says why.
  if (me.must_enrol_totp && path !== '/account') {
    go('#/account');
    return;
  }
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (r.admin && !isAdmin(me)) break;
    const main = shell(r.nav, me);
    const ctx: Ctx = { me, go, signedOut, refreshMe: async () => signedIn(await api.me()) };
    cleanup = r.screen(main, ctx, new URLSearchParams(query), ...m.slice(1));
    return;
  }
  const main = shell('', me);
  mount(main, h('h1', {}, 'Not found'), notice('empty', 'There is no such page. ', h('a', { href: '#/' }, 'Back to the cameras')));
}

window.addEventListener('hashchange', () => {
  if (me) render();
  else showAuth(location.hash === '#/setup' ? 'setup' : 'login');
});
onUnauthenticated(() => {
  if (me) signedOut();
});

async function boot(): Promise<void> {
  mount(app, spinner());
  try {
    signedIn(await api.me());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showAuth(location.hash === '#/setup' ? 'setup' : 'login');
    else mount(app, h('main', { class: 'center' }, notice('error', `vigil does not answer: ${(e as Error).message}`)));
  }
}
void boot();
