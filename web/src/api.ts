// The client of vigil's HTTP API (docs/api.md): JSON in and out, the session cookie rides along
// (same origin), and every state-changing request carries the X-CSRF-Token of the session.
// Errors become ApiError with the API's own "detail" text, which the screens show as is.

export type Role = 'admin' | 'operator' | 'viewer';

export interface Me {
  name: string;
  role: Role;
  cameras: string[];  // ["*"]: every camera
  via: 'session' | 'token';
  csrf_token?: string;
  totp?: boolean; // a second factor is enrolled
  recovery_codes_left?: number;
  // An admin without a second factor while the server requires one: only enrolment is allowed.
  must_enrol_totp?: boolean;
}

// GET /api/tokens (an admin sees everyone's).
export interface ApiToken {
  id: number;
  name: string;
  user: string;
  scope: 'full' | 'metrics';
  created: string;
  expires: string | null;
  last_used: string | null;
}

export interface NewToken {
  id: number;
  name: string;
  scope: string;
  expires: string | null;
  token: string; // shown once
}

export interface CameraStatus {
  state: 'disabled' | 'connecting' | 'streaming' | 'offline' | string;
  fps?: number;
  video_codec?: string;
  width?: number;
  height?: number;
  last_error?: string;
  record_error?: string;
  note?: string;
  recording_file?: string;
  stored_segments?: number;
  // Its supervised components (ingest, ingest-sub, analyzer) that failed lately and restart.
  failed_components?: string[];
}

// [camera.analysis] (docs/config.md).
export interface Analysis {
  enabled: boolean;
  fps: number;
  sensitivity: number; // 1..100
  min_area: number; // fraction of the picture
  decode: 'auto' | 'all' | 'adaptive';
  tamper: boolean;
  signal_timeout_ms: number;
}

// A polygon in fractions of the picture: [0, 0] top left, [1, 1] bottom right.
export interface Zone {
  name: string;
  points: [number, number][];
  mask?: boolean;
}

export const eventTypes = ['motion', 'tamper_covered', 'tamper_defocused', 'tamper_moved', 'signal_lost'] as const;
export const weekDays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export interface Schedule {
  zone: string | null; // null: every event of the camera
  types: string[]; // empty: every type
  days: string[];
  from: string; // HH:MM in the schedule time zone
  to: string; // HH:MM, 24:00 allowed; to <= from runs into the next day
}

export interface Camera {
  id: string;
  name: string;
  enabled: boolean;
  // The recorded streams: ["main"], or ["main", "sub"] with record_sub (docs/api.md, "Streams").
  streams?: ('main' | 'sub')[];
  ptz?: boolean; // the camera has an ONVIF device URL: pan, tilt, zoom for operators
  // Admins only:
  url?: string;
  sub_url?: string | null;
  record_sub?: boolean;
  transport?: 'tcp' | 'udp';
  rtsp_client?: 'native' | 'ffmpeg';
  retention?: { max_days: number | null; max_bytes: number | null };
  record?: 'continuous' | 'events';
  analysis?: Analysis;
  zones?: Zone[];
  schedules?: Schedule[];
  schedule_time_zone?: string | null; // detail only; null: the recorder host's zone
  status?: CameraStatus | null;
}

// POST /api/cameras/probe: a test connection's answer.
export interface ProbeResult {
  ok: boolean;
  codec?: string;
  width?: number;
  height?: number;
  fps?: number | null;
  snapshot?: string; // base64 JPEG
  reason?: string;
  error?: string;
}

// POST /api/discover, /api/discover/device: an ONVIF camera that answered (docs/cameras.md).
export interface FoundProfile {
  token: string;
  name: string;
  encoding: string;
  width: number;
  height: number;
  fps: number | null;
  bitrate_kbps: number | null;
  ptz: boolean;
  uri: string;
}
export interface FoundCamera {
  endpoint: string;
  address: string;
  device_url: string;
  name: string;
  manufacturer: string;
  model: string;
  reason?: string;
  error?: string;
  clock_offset_ms?: number | null;
  clock_off?: boolean;
  ptz_url?: string;
  profiles?: FoundProfile[];
  main?: number | null;
  sub?: number | null;
}

export interface Range {
  start_ms: number;
  end_ms: number;
}
export type EventType = 'motion' | 'tamper_covered' | 'tamper_defocused' | 'tamper_moved' | 'signal_lost';

// An event as GET /api/events answers it (docs/api.md, "Events").
export interface VigilEvent {
  id: number;
  camera: string;
  type: EventType | string;
  zones: string[];
  open: boolean;
  start_ms: number;
  end_ms: number;
  peak_score: number;
  peak_ms: number;
  armed: boolean;
  close_reason: string | null;
  snapshot: string | null;
}

// The short form the timeline carries for each event in its window.
export type TimelineEvent = Range & { id: number; type: EventType | string; armed: boolean; open: boolean };

export interface Timeline {
  camera: string;
  start_ms: number;
  end_ms: number;
  recorded: (Range & { segments: number })[];
  gaps: (Range & { reason: string })[];
  events?: TimelineEvent[];
  events_truncated?: boolean;
}

export interface EventQuery {
  camera?: string;
  type?: string;
  zone?: string;
  from_ms?: number;
  to_ms?: number;
  before_id?: number;
  limit?: number;
}

export interface User {
  name: string;
  role: Role;
  cameras: string[];  // ["*"]: every camera
  created: string;
  totp?: boolean;  // GET /api/users only (admins): a TOTP second factor is enrolled
}

export interface AuditEntry {
  id: number;
  at_ms: number;
  user: string | null;
  address: string;
  action: string;
  camera: string | null;
  range_start: string | null;
  range_end: string | null;
  detail: string;
}

export interface ExportJob {
  id: number;
  camera?: string;
  state: 'queued' | 'running' | 'done' | 'failed' | string;
  // An evidence bundle (a ZIP with the original fragments, chain and signed checkpoints).
  evidence?: boolean;
  clip_start_ms?: number;
  duration_s?: number;
  bytes?: number;
  note?: string;
  error?: string;
  detail?: string;
}

// System settings (admins) and the disk's state (everyone): docs/api.md, "System settings".
export const SECRET_MASK = '********';

export interface DiskState {
  free_bytes: number;
  total_bytes: number;
  low: boolean;
  low_below_bytes: number;
}
export interface SystemStatus {
  disk: DiskState;
  disk_full_cameras: string[];
}
export interface MqttTarget {
  host: string;
  port?: number;
  tls?: boolean;
  ca_file?: string | null;
  prefix?: string;
  client_id?: string;
  username?: string;
  password?: string;
  discovery?: boolean;
  discovery_prefix?: string;
}
export interface WebhookTarget {
  url: string;
  secret?: string;
  ca_file?: string | null;
  types?: string[];
  timeout_ms?: number;
}
export interface NotificationTargets {
  mqtt: MqttTarget | null;
  webhooks: WebhookTarget[];
}
export interface TestResult {
  ok: boolean;
  detail: string;
}
export interface RetentionLimits {
  max_days: number | null;
  max_bytes: number | string | null;
}
export interface StorageSettings {
  retention: RetentionLimits;
  min_free_space_bytes: number;
  disk: DiskState;
  cameras: {
    id: string;
    name: string;
    stored_bytes: number;
    stored_segments: number;
    oldest_footage: string;
    bitrate_bps: number;
    disk_full: boolean;
    held_bytes: number;
    stopped_by_holds: boolean;
    retention: RetentionLimits | null;
  }[];
}

// A till's transaction (GET /api/transactions, docs/transactions.md). Amounts in minor units.
export interface Transaction {
  id: number;
  till: string;
  moment_ms: number;
  time_ms: number | null;  // the till's own clock (null: a printer tap's, which has none)
  kind: string;
  method: string | null;
  total_minor: number | null;
  currency: string;
  items: { text: string; quantity: number; unit_minor: number | null }[];
  reference: string | null;
  cashier: string;
  text: string;
  source: string;
  cameras?: string[];
  receipt?: { at_ms: number; text: string }[];
}

// One till's day in the daily summary (GET /api/transactions/summary, docs/transactions.md).
export interface TransactionSummaryDay {
  till: string;
  till_name: string;
  day: string;  // YYYY-MM-DD, a local day of the server's [events] time_zone
  from_ms: number;
  to_ms: number;
  count: number;
  net_minor: number;
  by_kind: Record<string, { count: number; total_minor: number }>;
  by_method: Record<string, { count: number; sales_minor: number; refunds_minor: number }>;
  exceptions: number;
  exception_events: { event_id: number; at_ms: number; reason: string }[];
}
export interface TransactionSummaryQuery {
  till?: string;
  from_day: string;
  to_day: string;
}

export interface TransactionQuery {
  till?: string;
  camera?: string;  // the tills this camera watches
  from_ms?: number;
  to_ms?: number;
  kind?: string;
  method?: string;
  amount_from?: number;
  amount_to?: number;
  text?: string;
  before_id?: number;
  limit?: number;
}

// An evidence hold (GET /api/holds): retention keeps what it covers until an admin releases it.
export interface Hold {
  id: number;
  name: string;
  reason: string;
  cameras: string[];
  from_ms: number;
  to_ms: number;
  created_ms: number;
  created_by: string;
  released_ms: number | null;
  released_by: string | null;
  // Bytes of each listed camera's footage that the hold covers now (0 once released); absent
  // in the answer of POST /api/holds.
  held_bytes?: Record<string, number>;
}
export interface NewHold {
  name: string;
  reason: string;
  cameras: string[];
  from_ms: number;
  to_ms: number;
}
export interface EventSettings {
  min_duration_ms: number;
  merge_gap_ms: number;
  pre_roll_ms: number;
  post_roll_ms: number;
  time_zone: string;
  queue_limit?: number;
  restart_needed_for?: string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

let csrfToken = '';
const unauthenticatedListeners: (() => void)[] = [];

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token ?? '';
}
// Called when any request answers 401: the session ended (logout elsewhere, password change).
export function onUnauthenticated(fn: () => void): void {
  unauthenticatedListeners.push(fn);
}

// Turns a failed response into an ApiError with the API's detail, or a plain description.
export async function errorFrom(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let detail = `${res.status} ${res.statusText}`;
  try {
    const j = await res.json();
    if (j && typeof j.error === 'string') code = j.error;
    if (j && typeof j.detail === 'string') detail = j.detail;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, code, detail);
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'vigil cannot be reached (is it running?)');
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    const isLogin = path === '/api/login' || path === '/api/setup';
    if (res.status === 401 && !isLogin) unauthenticatedListeners.forEach((fn) => fn());
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const api = {
  me: () => request<Me>('GET', '/api/me'),
  // `code`: the second factor's code (or a recovery code), once the server asked for it.
  login: (name: string, password: string, code?: string) =>
    request<Me>('POST', '/api/login', code === undefined ? { name, password } : { name, password, code }),
  beginTotp: (password: string) => request<{ secret: string; uri: string }>('POST', '/api/me/totp', { password }),
  confirmTotp: (code: string) => request<{ recovery_codes: string[] }>('POST', '/api/me/totp/confirm', { code }),
  disableTotp: (password: string) => request<void>('POST', '/api/me/totp/disable', { password }),
  tokens: () => request<{ tokens: ApiToken[] }>('GET', '/api/tokens').then((r) => r.tokens),
  createToken: (body: { name: string; password: string; scope: string; expires_days?: number }) =>
    request<NewToken>('POST', '/api/tokens', body),
  revokeToken: (id: number) => request<void>('DELETE', `/api/tokens/${id}`),
  setup: (token: string, name: string, password: string) =>
    request<Me>('POST', '/api/setup', { token, name, password }),
  logout: () => request<void>('POST', '/api/logout'),

  cameras: () => request<{ cameras: Camera[] }>('GET', '/api/cameras').then((r) => r.cameras),
  camera: (id: string, signal?: AbortSignal) =>
    request<Camera>('GET', `/api/cameras/${encodeURIComponent(id)}`, undefined, signal),
  addCamera: (body: Record<string, unknown>) => request<Camera>('POST', '/api/cameras', body),
  // Only a till's clock offset can change through the API (docs/transactions.md).
  setTillClockOffset: (till: string, clock_offset_ms: number) =>
    request<{ id: string; clock_offset_ms: number }>('PATCH', `/api/tills/${encodeURIComponent(till)}`, { clock_offset_ms }),
  changeCamera: (id: string, body: Record<string, unknown>) =>
    request<Camera>('PATCH', `/api/cameras/${encodeURIComponent(id)}`, body),
  removeCamera: (id: string) => request<void>('DELETE', `/api/cameras/${encodeURIComponent(id)}`),
  ptzPresets: (id: string) =>
    request<{ presets: { token: string; name: string }[] }>('GET', `/api/cameras/${encodeURIComponent(id)}/ptz`).then((r) => r.presets),
  ptz: (id: string, body: { action: 'move'; pan: number; tilt: number; zoom: number } | { action: 'stop' } | { action: 'preset'; preset: string }) =>
    request<void>('POST', `/api/cameras/${encodeURIComponent(id)}/ptz`, body),
  probeCamera: (body: { url: string; camera?: string; transport?: string; rtsp_client?: string }, signal?: AbortSignal) =>
    request<ProbeResult>('POST', '/api/cameras/probe', body, signal),
  discover: (body: Record<string, unknown>) =>
    request<{ cameras: FoundCamera[] }>('POST', '/api/discover', body).then((r) => r.cameras),
  readDevice: (body: { device_url: string; user: string; password: string }) =>
    request<FoundCamera>('POST', '/api/discover/device', body),

  timeline: (id: string, start: number, end: number, signal?: AbortSignal, stream: 'main' | 'sub' = 'main') =>
    request<Timeline>(
      'GET',
      `/api/cameras/${encodeURIComponent(id)}/timeline?start=${Math.floor(start)}&end=${Math.ceil(end)}` +
        (stream === 'sub' ? '&stream=sub' : ''),
      undefined,
      signal,
    ),
  playlistUrl: (id: string, start: number, end: number, stream: 'main' | 'sub' = 'main') =>
    `/api/cameras/${encodeURIComponent(id)}/playback.m3u8?start=${Math.floor(start)}&end=${Math.ceil(end)}` +
    (stream === 'sub' ? '&stream=sub' : ''),
  previewUrl: (id: string, t: number) => `/api/cameras/${encodeURIComponent(id)}/preview?t=${Math.round(t)}`,
  liveUrl: (id: string) => `/api/cameras/${encodeURIComponent(id)}/live.mp4`,
  snapshotUrl: (id: string) => `/api/cameras/${encodeURIComponent(id)}/snapshot.jpg`,

  startExport: (camera: string, start: number, end: number, evidence = false, stream: 'main' | 'sub' = 'main') =>
    request<ExportJob>('POST', '/api/exports', { camera, start: Math.floor(start), end: Math.ceil(end), evidence, stream }),
  exportJob: (id: number) => request<ExportJob>('GET', `/api/exports/${id}`),
  exportFileUrl: (id: number) => `/api/exports/${id}/file`,

  users: () => request<{ users: User[] }>('GET', '/api/users').then((r) => r.users),
  addUser: (body: { name: string; password: string; role: Role; cameras: string[] }) =>
    request<User>('POST', '/api/users', body),
  changeUser: (name: string, body: Partial<{ role: Role; cameras: string[]; password: string }>) =>
    request<User>('PATCH', `/api/users/${encodeURIComponent(name)}`, body),
  removeUser: (name: string) => request<void>('DELETE', `/api/users/${encodeURIComponent(name)}`),

  systemStatus: (signal?: AbortSignal) => request<SystemStatus>('GET', '/api/system/status', undefined, signal),
  notifications: () => request<NotificationTargets>('GET', '/api/settings/notifications'),
  setNotifications: (body: Partial<NotificationTargets>) =>
    request<NotificationTargets>('PUT', '/api/settings/notifications', body),
  testNotification: (body: { mqtt: MqttTarget } | { webhook: WebhookTarget }) =>
    request<TestResult>('POST', '/api/settings/notifications/test', body),
  storage: () => request<StorageSettings>('GET', '/api/settings/storage'),
  setRetention: (retention: Partial<RetentionLimits>) =>
    request<StorageSettings>('PATCH', '/api/settings/storage', { retention }),
  eventSettings: () => request<EventSettings>('GET', '/api/settings/events'),
  setEventSettings: (body: Partial<EventSettings>) => request<EventSettings>('PATCH', '/api/settings/events', body),

  holds: (released: boolean) =>
    request<{ holds: Hold[] }>('GET', `/api/holds?released=${released}`).then((r) => r.holds),
  addHold: (hold: NewHold) => request<Hold>('POST', '/api/holds', hold),
  releaseHold: (id: number) => request<Hold>('POST', `/api/holds/${id}/release`),
  // One evidence bundle per camera of the hold (cameras without signed footage are skipped).
  exportHold: (id: number) =>
    request<{ exports: ExportJob[]; skipped: { camera: string; error: string }[] }>('POST', `/api/holds/${id}/export`),

  audit: (q: Record<string, string | number | undefined>) =>
    request<{ entries: AuditEntry[]; next_before_id: number | null }>('GET', `/api/audit?${query(q)}`),

  events: (q: EventQuery, signal?: AbortSignal) =>
    request<{ events: VigilEvent[]; next_before_id: number | null }>('GET', `/api/events?${query({ ...q })}`, undefined, signal),
  event: (id: number) => request<VigilEvent>('GET', `/api/events/${id}`),
  transactions: (q: TransactionQuery, signal?: AbortSignal) =>
    request<{ transactions: Transaction[]; next_before_id?: number }>('GET', `/api/transactions?${query({ ...q })}`, undefined, signal),
  transaction: (id: number) => request<Transaction>('GET', `/api/transactions/${id}`),
  transactionSummary: (q: TransactionSummaryQuery) =>
    request<{ from_day: string; to_day: string; time_zone: string; days: TransactionSummaryDay[] }>('GET', `/api/transactions/summary?${query({ ...q })}`),
  transactionSummaryCsvUrl: (q: TransactionSummaryQuery) => `/api/transactions/summary?${query({ ...q, format: 'csv' })}`,
  // evidence: an evidence bundle of the same range (a verifiable ZIP) instead of an MP4.
  eventClip: (id: number, evidence = false) =>
    request<ExportJob>('POST', `/api/events/${id}/clip${evidence ? '?evidence=true' : ''}`),
};

// A query string of the parameters that have a value.
function query(q: Record<string, string | number | undefined>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  return p;
}
