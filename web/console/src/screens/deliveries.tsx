/**
 * Deliveries (console.md): the project's delivery log (docs/api.md §5.5), newest first, 25 at a
 * time, filtered by status — dead letters (failed) one click away — and event type; replay since
 * a time. One delivery's page is delivery.tsx.
 */
import { useState } from 'preact/hooks';
import {
  API,
  type DeliveryStatus,
  type DeliverySummary,
  describeError,
  type Envelope,
  enc,
  type Page,
} from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { Empty, ErrorNote, Loading, LoadMore } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { usePaged } from '../hooks';
import { projectPath } from '../router';
import { DeliveryPage, NO_INTEGRATION, StatusTag } from './delivery';
import type { ProjectScreenProps } from './registry';

const PAGE = 25;
const STATUSES: readonly { readonly value: '' | DeliveryStatus; readonly label: string }[] = [
  { value: '', label: 'All' },
  { value: 'failed', label: 'Dead letters' },
  { value: 'pending', label: 'Pending' },
  { value: 'delivered', label: 'Delivered' },
  { value: 'cancelled', label: 'Cancelled' },
  { value: 'skipped', label: 'Skipped' },
];
const TYPES = ['', 'conversation.start', 'message', 'conversation.close'] as const;

export function Deliveries({ projectId, rest }: ProjectScreenProps) {
  const [id] = rest;
  if (id !== undefined) return <DeliveryPage projectId={projectId} deliveryId={id} />;
  return <DeliveryLog projectId={projectId} />;
}

function DeliveryLog({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const [status, setStatus] = useState<'' | DeliveryStatus>('');
  const [eventType, setEventType] = useState<(typeof TYPES)[number]>('');
  const list = usePaged<DeliverySummary>(
    async (after) => {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (status !== '') q.set('status', status);
      if (eventType !== '') q.set('eventType', eventType);
      if (after !== undefined) q.set('cursor', after);
      return (
        await api.get<Envelope<Page<DeliverySummary>>>(
          `${API}/external-support/${enc(projectId)}/deliveries?${q}`,
        )
      ).data;
    },
    (d) => d.id,
    `${projectId}|${status}|${eventType}`,
  );

  return (
    <>
      <PageTitle title="Deliveries">Deliveries</PageTitle>
      <p class="lead">
        Every event of this project on its way to the webhook: where it stands, and each attempt with the
        receiver's answer.
      </p>
      <fieldset class="toolbar filter-set">
        <legend class="visually-hidden">Status</legend>
        {STATUSES.map((s) => (
          <button
            key={s.value}
            type="button"
            class={status === s.value ? 'button button-primary' : 'button'}
            aria-pressed={status === s.value}
            onClick={() => setStatus(s.value)}
          >
            {s.label}
          </button>
        ))}
        <label class="inline-label">
          <span>Event type</span>
          <select
            class="input"
            value={eventType}
            onChange={(e) => setEventType(e.currentTarget.value as (typeof TYPES)[number])}
          >
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t === '' ? 'Any' : t}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      {list.error !== undefined ? <ErrorNote>{list.error}</ErrorNote> : null}
      {list.items.length === 0 && list.loading ? <Loading what="deliveries" /> : null}
      {list.items.length === 0 && !list.loading && list.error === undefined ? (
        <Empty>
          {status === 'failed'
            ? 'No dead letter: every event that ran out of attempts would be here.'
            : status !== '' || eventType !== ''
              ? 'No delivery matches these filters.'
              : 'No event yet. Send a test event from the Integration screen, or start a conversation.'}
        </Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul class="cards" aria-label="Deliveries">
          {list.items.map((d) => (
            <li key={d.id} class="card" data-delivery={d.id}>
              <div class="card-main">
                <Link
                  to={projectPath(projectId, `deliveries/${encodeURIComponent(d.id)}`)}
                  class="card-title"
                >
                  {d.eventType}
                </Link>
                <span class="card-meta mono">{d.id}</span>
                {d.lastError !== null && d.status !== 'delivered' ? (
                  <span class="card-meta field-error">{d.lastError}</span>
                ) : null}
              </div>
              <span class="card-meta">
                {when(d.createdAt)} · {d.attemptCount} {d.attemptCount === 1 ? 'attempt' : 'attempts'}
              </span>
              <StatusTag status={d.status} />
            </li>
          ))}
        </ul>
      ) : null}
      <LoadMore hasMore={list.hasMore} loading={list.loading} onMore={list.more} what="deliveries" />
      <Replay projectId={projectId} />
    </>
  );
}

/** A datetime-local value an hour ago, in the reader's time zone. */
function anHourAgo(): string {
  const d = new Date(Date.now() - 3_600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function Replay({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const [since, setSince] = useState(anHourAgo);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const replay = async () => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const answer = await api.post<Envelope<{ replayed: number }>>(
        `${API}/external-support/${enc(projectId)}/deliveries/replay`,
        { since: new Date(since).toISOString() },
      );
      const n = answer.data.replayed;
      setDone(
        n === 0
          ? 'Nothing to replay since then.'
          : `${n} ${n === 1 ? 'event' : 'events'} queued to be sent again.`,
      );
      setConfirming(false);
    } catch (e) {
      const message = describeError(e);
      setError(/integration/i.test(message) ? NO_INTEGRATION : message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="replay" class="panel replay">
      <h2 id="replay">Replay</h2>
      <p>
        Sends every event created since a time again (delivered, dead or cancelled ones alike), with the same
        webhook-id, in order per conversation: for a receiver that lost data.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setConfirming(true);
        }}
      >
        <label class="field">
          <span>Since</span>
          <input
            class="input"
            type="datetime-local"
            required
            value={since}
            onInput={(e) => setSince(e.currentTarget.value)}
          />
        </label>
        {confirming ? (
          <fieldset class="confirm">
            <legend>Replay every event since {when(new Date(since).toISOString())}?</legend>
            <button type="button" class="button button-danger" disabled={busy} onClick={() => void replay()}>
              {busy ? 'Replaying…' : 'Yes, replay'}
            </button>
            <button type="button" class="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </fieldset>
        ) : (
          <button type="submit" class="button">
            Replay…
          </button>
        )}
      </form>
      {done !== undefined ? (
        <p class="state state-info" role="status">
          {done}
        </p>
      ) : null}
      {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
    </section>
  );
}
