// How a camera's recording status reads on screen (GET /api/cameras/{id} "status").
import type { Camera } from './api';

export interface StatusView {
  label: string;
  kind: 'ok' | 'warn' | 'bad' | 'off';
  problem: string;
}

export function describeStatus(cam: Camera): StatusView {
  const s = cam.status;
  if (!cam.enabled) return { label: 'Disabled', kind: 'off', problem: '' };
  if (!s) return { label: 'Unknown', kind: 'warn', problem: '' };
  const problem = s.record_error || s.last_error || '';
  switch (s.state) {
    case 'streaming':
      if (s.record_error) return { label: 'Not recording', kind: 'bad', problem: s.record_error };
      // Recording goes on when analysis fails; it restarts by itself, and `vigil status` says why.
      if (s.failed_components?.includes('analyzer')) {
        return {
          label: 'Recording',
          kind: 'warn',
          problem: 'motion and tamper analysis failed and is restarting',
        };
      }
      return { label: 'Recording', kind: 'ok', problem: '' };
    case 'connecting':
      return { label: 'Connecting', kind: 'warn', problem };
    case 'offline':
      return { label: 'Offline', kind: 'bad', problem: problem || 'the camera does not answer' };
    case 'disabled':
      return { label: 'Disabled', kind: 'off', problem: '' };
    default:
      return { label: s.state, kind: 'warn', problem };
  }
}
