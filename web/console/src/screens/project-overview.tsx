/**
 * A project at a glance (console.md "Overview"): active conversations, events waiting, dead
 * letters, and the webhook's last hour — success rate and attempts per minute in a chart — from
 * GET …/overview (docs/api.md §5.10), read again every 10 seconds while the page is open (the
 * route reads indexes that hold only what they count, so polling costs little).
 */
import { useEffect, useState } from 'preact/hooks';
import { API, describeError, type Envelope, enc, type ProjectOverview, Unauthorized } from '../api';
import { Link } from '../components/link';
import { MinuteChart } from '../components/minute-chart';
import { ErrorNote, Loading } from '../components/states';
import { useApi } from '../context';
import { projectPath } from '../router';

const REFRESH_MS = 10_000;

function percent(rate: number | null): string {
  if (rate === null) return '—';
  return `${(Math.floor(rate * 1000) / 10).toLocaleString(undefined, { maximumFractionDigits: 1 })} %`;
}

export function OverviewPanel({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const [overview, setOverview] = useState<ProjectOverview | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [readAt, setReadAt] = useState<Date | undefined>(undefined);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const answer = await api.get<Envelope<ProjectOverview>>(
          `${API}/external-support/${enc(projectId)}/overview`,
        );
        if (!live) return;
        setOverview(answer.data);
        setError(undefined);
        setReadAt(new Date());
      } catch (e) {
        if (!live || e instanceof Unauthorized) return;
        setError(describeError(e));
      }
      if (live) timer = setTimeout(() => void read(), REFRESH_MS);
    };
    void read();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [projectId]);

  if (overview === undefined) {
    return error === undefined ? <Loading what="the overview" /> : <ErrorNote>{error}</ErrorNote>;
  }
  const hour = overview.lastHour;
  const attempts = hour.delivered + hour.failed;
  const summary =
    attempts === 0
      ? 'No delivery attempt in the last hour.'
      : `Last hour: ${hour.delivered} attempts delivered, ${hour.failed} failed.`;
  return (
    <section aria-labelledby="overview" class="overview">
      <div class="section-head">
        <h2 id="overview">Overview</h2>
        <span class="card-meta" role="status">
          {readAt === undefined ? '' : `Updated ${readAt.toLocaleTimeString()}`}
        </span>
      </div>
      {error !== undefined ? <ErrorNote>Could not refresh: {error}</ErrorNote> : null}
      <dl class="stats">
        <div class="stat">
          <dt>Active conversations</dt>
          <dd>{overview.activeConversations.toLocaleString()}</dd>
        </div>
        <div class="stat">
          <dt>Events waiting</dt>
          <dd>{overview.eventsWaiting.toLocaleString()}</dd>
        </div>
        <div class={overview.deadLetters > 0 ? 'stat stat-bad' : 'stat'}>
          <dt>Dead letters</dt>
          <dd>
            {overview.deadLetters.toLocaleString()}
            {overview.deadLetters > 0 ? (
              <Link to={projectPath(projectId, 'deliveries')} class="stat-link">
                See deliveries
              </Link>
            ) : null}
          </dd>
        </div>
        <div class="stat">
          <dt>Success rate, last hour</dt>
          <dd>{percent(hour.successRate)}</dd>
        </div>
      </dl>
      <h3 class="chart-title">Webhook attempts per minute, last hour</h3>
      {attempts === 0 ? (
        <p class="state state-empty">
          No delivery attempt in the last hour. Events are sent to the project's webhook once it has an
          integration; the chart appears with the first attempt.
        </p>
      ) : (
        <MinuteChart minutes={hour.perMinute} summary={summary} />
      )}
    </section>
  );
}
