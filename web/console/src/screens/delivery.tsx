/**
 * One delivery (console.md, Deliveries; docs/api.md §5.5.2): where it stands, the event as sent,
 * and each attempt with the request relevo made and the receiver's answer; retry it now. While
 * it is pending the page reads it again every 3 seconds, so a retry's outcome shows by itself.
 */
import { useEffect, useState } from 'preact/hooks';
import {
  API,
  type DeliveryAttempt,
  type DeliveryDetail,
  type DeliveryStatus,
  describeError,
  type Envelope,
  enc,
} from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { ErrorNote, Loading } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { useLoad } from '../hooks';
import { projectPath } from '../router';

/**
 * Where a delivery goes: the panel's webhook, a bot's outside engine, or the end user through
 * the bot's channel (docs/webhooks.md, `destination`).
 */
export type Destination = 'panel' | 'bot' | 'channel';

export const NO_INTEGRATION = 'This project has no integration: create one on the Integration screen first.';
const POLL_MS = 3_000;

const STATUS_TEXT: Readonly<Record<DeliveryStatus, string>> = {
  pending: 'Pending',
  delivered: 'Delivered',
  failed: 'Dead letter',
  cancelled: 'Cancelled',
  skipped: 'Skipped',
};

export function StatusTag({ status }: { readonly status: DeliveryStatus }) {
  return <span class={`tag tag-${status}`}>{STATUS_TEXT[status]}</span>;
}

export function DeliveryPage({
  projectId,
  deliveryId,
  destination,
}: {
  readonly projectId: string;
  readonly deliveryId: string;
  readonly destination: Destination;
}) {
  const api = useApi();
  const path = `${API}/external-support/${enc(projectId)}/deliveries/${enc(deliveryId)}`;
  const delivery = useLoad(async () => (await api.get<Envelope<DeliveryDetail>>(path)).data, path);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [note, setNote] = useState<string | undefined>(undefined);
  const d = delivery.value;

  // While pending, follow it: the attempt happens on the server's own schedule.
  useEffect(() => {
    if (d?.status !== 'pending') return;
    const timer = setTimeout(async () => {
      try {
        delivery.set((await api.get<Envelope<DeliveryDetail>>(path)).data);
      } catch {
        // The next render tries again; a 401 signs out through the layout.
      }
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [d]);

  if (delivery.loading) return <Loading what="the delivery" />;
  const back = (
    <p class="crumbs">
      <Link to={projectPath(projectId, 'deliveries')}>← Deliveries</Link>
    </p>
  );
  if (d === undefined) {
    return (
      <>
        {back}
        <PageTitle title="Delivery">Delivery</PageTitle>
        <ErrorNote>{delivery.error ?? 'The delivery could not be loaded.'}</ErrorNote>
      </>
    );
  }

  const retry = async () => {
    setBusy(true);
    setError(undefined);
    setNote(undefined);
    try {
      const answer = await api.post<Envelope<DeliveryDetail>>(`${path}/retry`);
      delivery.set(answer.data);
      setNote('Retry scheduled: the attempt below appears when it is made.');
    } catch (e) {
      const message = describeError(e);
      setError(/integration/i.test(message) ? NO_INTEGRATION : message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {back}
      <PageTitle title={`${d.eventType} · delivery`}>{d.eventType}</PageTitle>
      <p class="lead">
        <StatusTag status={d.status} /> · created {when(d.createdAt)} · {d.attemptCount}{' '}
        {d.attemptCount === 1 ? 'attempt' : 'attempts'} in this cycle
        {d.nextAttemptAt !== null ? ` · next attempt ${when(d.nextAttemptAt)}` : ''}
        {d.deliveredAt !== null ? ` · delivered ${when(d.deliveredAt)}` : ''}
      </p>
      <dl class="facts">
        <div>
          <dt>Delivery (webhook-id)</dt>
          <dd class="mono">{d.id}</dd>
        </div>
        {d.conversationId !== null ? (
          <div>
            <dt>Conversation</dt>
            <dd class="mono">
              <Link to={projectPath(projectId, `conversations/${encodeURIComponent(d.conversationId)}`)}>
                {d.conversationId}
              </Link>
            </dd>
          </div>
        ) : null}
      </dl>
      <div class="toolbar">
        <button type="button" class="button button-primary" disabled={busy} onClick={() => void retry()}>
          {busy ? 'Retrying…' : 'Retry now'}
        </button>
        {note !== undefined ? (
          <span class="card-meta" role="status">
            {note}
          </span>
        ) : null}
      </div>
      {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
      <section aria-labelledby="attempts">
        <h2 id="attempts">Attempts</h2>
        {d.attempts.length === 0 ? (
          <p class="state state-empty">
            {d.status === 'skipped'
              ? 'Not sent: the project had no integration when it happened. Replay it once there is one.'
              : 'No attempt yet.'}
          </p>
        ) : (
          <ol class="cards attempts" aria-label="Attempts">
            {[...d.attempts].reverse().map((a) => (
              <Attempt key={a.id} attempt={a} deliveryId={d.id} destination={destination} />
            ))}
          </ol>
        )}
      </section>
      <section aria-labelledby="payload">
        <h2 id="payload">
          {destination === 'bot' ? 'Event' : destination === 'channel' ? 'Message' : 'Body sent'}
        </h2>
        {destination === 'bot' ? (
          <p class="hint">
            An external engine receives exactly this body. A Rasa server receives the user's words from it as{' '}
            <code>{'{sender, message, metadata}'}</code>.
          </p>
        ) : null}
        <pre class="payload">{JSON.stringify(d.payload, null, 2)}</pre>
      </section>
    </>
  );
}

/** What the Request section adds about headers the log does not keep. */
const REQUEST_NOTES: Record<Destination, string> = {
  panel:
    "The signatures are not kept in the log. The integration's own Authorization header, if it has one, is sent too and never shown. The body is below.",
  bot: 'A Rasa server gets the request unsigned. The signatures are not kept in the log. The body is below.',
  channel:
    "An http channel's request also carries webhook-id, webhook-timestamp and both signatures, keyed with the bot's channel signing key; a WhatsApp request carries the channel's access token (Authorization: Bearer …), never shown. The body is below.",
};

function Attempt({
  attempt: a,
  deliveryId,
  destination,
}: {
  readonly attempt: DeliveryAttempt;
  readonly deliveryId: string;
  readonly destination: Destination;
}) {
  const ok = a.outcome === 'delivered';
  const seconds = Math.floor(Date.parse(a.startedAt) / 1000);
  const secret = destination === 'bot' ? "the engine's secret of the time" : 'the signing secret of the time';
  return (
    <li class="card attempt" data-attempt={a.id}>
      <div class="card-main">
        <span class="card-title">
          <span class={ok ? 'tag tag-delivered' : 'tag tag-failed'}>
            {a.statusCode === null ? 'No answer' : `HTTP ${a.statusCode}`}
          </span>{' '}
          attempt {a.attemptNumber} · {a.outcome}
        </span>
        <span class="card-meta">
          {when(a.startedAt)} · {a.durationMs} ms
        </span>
        {a.error !== null && a.error !== `HTTP ${a.statusCode}` ? (
          <span class="field-error">{a.error}</span>
        ) : null}
        <details>
          <summary>Request</summary>
          {/* The log keeps the URL and the time, not the headers: these are the ones relevo
              always sends, with the values it derives from them (webhook-timestamp is the
              attempt's start in whole seconds); the signatures themselves are not stored. */}
          <pre class="payload">
            {(destination === 'channel'
              ? [`POST ${a.url}`, 'content-type: application/json']
              : [
                  `POST ${a.url}`,
                  'content-type: application/json',
                  'user-agent: relevo/<version>',
                  `webhook-id: ${deliveryId}`,
                  `webhook-timestamp: ${seconds}`,
                  `webhook-signature: v1,… (HMAC-SHA256 with ${secret})`,
                  `x-jelou-signature: sha256=… (HMAC-SHA256 of the body with ${secret})`,
                ]
            ).join('\n')}
          </pre>
          <p class="hint">{REQUEST_NOTES[destination]}</p>
        </details>
        <details open={!ok}>
          <summary>Receiver's answer</summary>
          <pre class="payload">
            {a.responseBody === null || a.responseBody === '' ? '(empty)' : a.responseBody}
          </pre>
        </details>
      </div>
    </li>
  );
}
