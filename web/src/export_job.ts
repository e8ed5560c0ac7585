// Waiting for an export job (POST /api/exports or POST /api/events/{id}/clip) to finish: polls
// GET /api/exports/{id} and reports each state, so that a screen can show progress.
import { api, type ExportJob } from './api';

const kPollMs = 700;

// Resolves with the finished job; throws with the API's reason when it failed. `alive` is asked
// before every poll: a screen that was left stops polling.
export async function waitForExport(job: ExportJob, progress: (job: ExportJob) => void, alive: () => boolean): Promise<ExportJob | null> {
  while (job.state !== 'done' && job.state !== 'failed') {
    progress(job);
    await new Promise((ok) => setTimeout(ok, kPollMs));
    if (!alive()) return null;
    job = await api.exportJob(job.id);
  }
  if (job.state === 'failed') throw new Error(job.detail ?? job.error ?? 'the export failed');
  return job;
}

export function exportLinkText(job: ExportJob): string {
  return `Download ${job.evidence ? 'evidence bundle' : 'MP4'} (${((job.bytes ?? 0) / 1e6).toFixed(1)} MB, ${Math.round(job.duration_s ?? 0)} s)`;
}
