/**
 * Deliveries (console.md): the project's delivery log (docs/api.md §5.5), newest first, 25 at a
 * time, filtered by status — dead letters (failed) one click away, with their count — and event
 * type, for the panel's webhook, the bots' outside engines or the bots' channels (the messages
 * on their way to the end users: http and WhatsApp) (docs/webhooks.md, `destination`);
 * replay since a time. One delivery's page is delivery.tsx.
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
  type ProjectOverview,
} from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { Empty, ErrorNote, Loading, LoadMore } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { useLoad, usePaged } from '../hooks';
import { projectPath } from '../router';
import { DeliveryPage, type Destination, NO_INTEGRATION, StatusTag } from './delivery';
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
const DESTINATIONS: readonly { readonly value: Destination; readonly label: string }[] = [
  { value: 'panel', label: 'Panel webhook' },
  { value: 'bot', label: "Bots' engines" },
  { value: 'channel', label: 'Channels' },
];
/** What each side's log holds, after "on its way to". */
const SENT_TO: Record<Destination, string> = {
  panel: 'the webhook',
  bot: "its bots' outside engines (external or Rasa)",
  channel: "its end users through the bots' channels (http and WhatsApp)",
};
const REPLAYS: Record<Destination, string> = {
  panel: "Replays the panel webhook's events.",
  bot: "Replays the bots' engines' events.",
  channel:
    "Replays the messages for the end users (sent to them again: use it only when a channel's server lost them).",
};
/** The path segment of a delivery page for each side ('' for the panel's). */
export function sidePath(destination: Destination): string {
  return destination === 'panel' ? '' : `${destination}/`;
}

/**
 * /deliveries/{id} is a delivery of the panel's webhook, /deliveries/bot/{id} one of a bot's
 * outside engine, /deliveries/channel/{id} a message through a bot's channel: the API reads any
 * by id, but only the page's path says how it was sent (event ids start with evt_, so neither
 * 'bot' nor 'channel' is ever one).
 */
export function Deliveries({ projectId, rest }: ProjectScreenProps) {
  const [first, second] = rest;
  if ((first === 'bot' || first === 'channel') && second !== undefined) {
    return <DeliveryPage projectId={projectId} deliveryId={second} destination={first} />;
  }
  if (first !== undefined)
    return <DeliveryPage projectId={projectId} deliveryId={first} destination="panel" />;
  return <DeliveryLog projectId={projectId} />;
}

function DeliveryLog({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const [destination, setDestination] = useState<Destination>('panel');
  const [status, setStatus] = useState<'' | DeliveryStatus>('');
  const [eventType, setEventType] = useState<(typeof TYPES)[number]>('');
  const [replays, setReplays] = useState(0);
  const key = `${projectId}|${destination}|${status}|${eventType}|${replays}`;
  // The dead letters' count comes from the overview (docs/api.md §5.10), which counts the
  // webhook's only: the bots' engines have no such figure, so their button goes without one.
  const overview = useLoad(
    async () =>
      (await api.get<Envelope<ProjectOverview>>(`${API}/external-support/${enc(projectId)}/overview`)).data,
    key,
  );
  const deadLetters = destination === 'panel' ? overview.value?.deadLetters : undefined;
  const list = usePaged<DeliverySummary>(
    async (after) => {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (destination !== 'panel') q.set('destination', destination);
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
    key,
  );

  return (
    <>
      <PageTitle title="Deliveries">Deliveries</PageTitle>
      <p class="lead">
        Every event of this project on its way to {SENT_TO[destination]}: where it stands, and each attempt
        with the receiver's answer.
      </p>
      <fieldset class="toolbar filter-set">
        <legend class="visually-hidden">Sent to</legend>
        {DESTINATIONS.map((d) => (
          <button
            key={d.value}
            type="button"
            class={destination === d.value ? 'button button-primary' : 'button'}
            aria-pressed={destination === d.value}
            onClick={() => setDestination(d.value)}
          >
            {d.label}
          </button>
        ))}
      </fieldset>
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
            {s.value === 'failed' && deadLetters !== undefined ? (
              <span class="count" data-dead-letters={deadLetters}>
                {' '}
                {deadLetters.toLocaleString()}
              </span>
            ) : null}
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
              : destination === 'bot'
                ? "No event for a bot's outside engine: a bot with the external or Rasa engine gets its users' messages here."
                : destination === 'channel'
                  ? 'No message for an end user yet: the answers to users of http and WhatsApp bots are sent from here.'
                  : 'No event yet. Send a test event from the Integration screen, or start a conversation.'}
        </Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul class="cards" aria-label="Deliveries">
          {list.items.map((d) => (
            <li key={d.id} class="card" data-delivery={d.id}>
              <div class="card-main">
                <Link
                  to={projectPath(
                    projectId,
                    `deliveries/${sidePath(destination)}${encodeURIComponent(d.id)}`,
                  )}
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
      {/* Keyed: the other side's confirmation would say a count that is not this side's. */}
      <Replay
        key={destination}
        projectId={projectId}
        destination={destination}
        onReplayed={() => setReplays((n) => n + 1)}
      />
    </>
  );
}

/** A datetime-local value an hour ago, in the reader's time zone. */
function anHourAgo(): string {
  const d = new Date(Date.now() - 3_600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function Replay({
  projectId,
  destination,
  onReplayed,
}: {
  readonly projectId: string;
  readonly destination: Destination;
  readonly onReplayed: () => void;
}) {
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
        {
          since: new Date(since).toISOString(),
          ...(destination === 'panel' ? {} : { destination }),
        },
      );
      const n = answer.data.replayed;
      setDone(
        n === 0
          ? 'Nothing to replay since then.'
          : `${n} ${n === 1 ? 'event' : 'events'} queued to be sent again.`,
      );
      setConfirming(false);
      // The replayed events are pending now: the list and the count show it.
      if (n > 0) onReplayed();
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
        webhook-id, in order per conversation: for a receiver that lost data. {REPLAYS[destination]}
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
