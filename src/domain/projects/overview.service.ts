/**
 * A project at a glance (docs/api.md §5.10): what the panel has now, what waits, what failed for
 * good, and the webhook's last hour minute by minute — the console's overview and its chart.
 */
import type { ProjectOverviewView } from '../../model/overview-views.js';
import type { Queries } from '../../storage/store.js';

const MINUTE_MS = 60_000;
/** Sixty buckets: the current minute and the 59 before it. */
const MINUTES = 60;

export async function projectOverview(
  q: Queries,
  projectId: string,
  now: number,
): Promise<ProjectOverviewView> {
  const from = Math.floor(now / MINUTE_MS) * MINUTE_MS - (MINUTES - 1) * MINUTE_MS;
  const [counts, minutes] = await Promise.all([
    q.projectStats.counts(projectId),
    q.projectStats.attemptsPerMinute(projectId, from),
  ]);
  const byMinute = new Map(minutes.map((m) => [m.minute, m]));
  const perMinute = Array.from({ length: MINUTES }, (_, i) => {
    const minute = from + i * MINUTE_MS;
    const m = byMinute.get(minute);
    return { minute: new Date(minute).toISOString(), delivered: m?.delivered ?? 0, failed: m?.failed ?? 0 };
  });
  const delivered = perMinute.reduce((n, m) => n + m.delivered, 0);
  const failed = perMinute.reduce((n, m) => n + m.failed, 0);
  return {
    ...counts,
    lastHour: {
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      delivered,
      failed,
      successRate: delivered + failed === 0 ? null : delivered / (delivered + failed),
      perMinute,
    },
  };
}
