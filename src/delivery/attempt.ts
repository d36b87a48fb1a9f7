/**
 * One attempt of one leased event, apart from the scheduling that chose it (dispatcher.ts):
 * sign, send, then record the outcome — delivered, retried later, dead-lettered, or the
 * integration disabled — and give the lease up with it.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ChannelVerdict } from '../channels/channel.js';
import { newId } from '../model/ids.js';
import type { AttemptResult, OutboxEvent } from '../model/types.js';
import type { AttemptOutcome, Metrics } from '../observability/metrics.js';
import type { Tracer } from '../observability/tracer.js';
import { eventKey, type Store, type Tx } from '../storage/store.js';
import { VERSION } from '../version.js';
import { laneOf } from './ready-queue.js';
import { type Decision, DISABLE_AFTER_FAILING_MS, decide } from './retry-policy.js';
import { signEvent } from './signer.js';
import type { Target } from './target.js';
import type { SendResult, WebhookSender } from './webhook-sender.js';

/** What an attempt needs from the dispatcher that launched it. */
export interface AttemptDeps {
  readonly store: Store;
  readonly sender: WebhookSender;
  readonly log: FastifyBaseLogger;
  readonly timeoutMs: number;
  readonly scheduleMs: readonly number[];
  /** The dispatcher's name on the leases it holds. */
  readonly owner: string;
  readonly clock: () => number;
  readonly random: () => number;
  /** Counts outcomes and latencies (RELEVO_METRICS_ADDR); undefined when metrics are off. */
  readonly metrics?: Metrics | undefined;
  /** Spans of attempts (OTEL_EXPORTER_OTLP_ENDPOINT); undefined when tracing is off. */
  readonly tracer?: Tracer | undefined;
}

/**
 * One attempt of one event, and the bookkeeping of its outcome. `answered` is called once the
 * receiver is done with it (answered, failed or timed out), before the outcome is recorded.
 */
export async function attempt(
  d: AttemptDeps,
  event: OutboxEvent,
  target: Target,
  signal: AbortSignal,
  answered?: () => void,
): Promise<void> {
  const { store } = d;
  if (target.kind === 'cancel') {
    await store.transaction((tx) =>
      tx.outbox.settle(event.id, d.owner, {
        status: 'cancelled',
        attemptCount: event.attemptCount,
        nextAttemptAt: null,
        deliveredAt: null,
        lastError: target.reason,
      }),
    );
    d.metrics?.attempt('cancelled');
    return;
  }
  if (target.kind === 'wait') {
    await store.transaction((tx) => tx.outbox.releaseLease(event.id, d.owner));
    return;
  }
  if (target.kind === 'instead') {
    await store.transaction(async (tx) => {
      const settled = await tx.outbox.settle(event.id, d.owner, {
        status: 'cancelled',
        attemptCount: event.attemptCount,
        nextAttemptAt: null,
        deliveredAt: null,
        lastError: target.reason,
      });
      if (settled) await target.run(tx);
    });
    d.metrics?.attempt('cancelled');
    return;
  }

  const startedAt = d.clock();
  const attemptNumber = event.attemptCount + 1;
  const span = d.tracer?.startAttempt(event, attemptNumber, target.url);
  const body = target.body ?? event.payload;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `relevo/${VERSION}`,
    ...target.headers,
    // Signed with the secret current at this attempt: a regenerated secret applies to
    // retries of older events too (docs/api.md §4.5).
    ...(target.secret === null ? {} : signEvent(body, target.secret, event.id, Math.floor(startedAt / 1000))),
  };
  // The receiver can join the trace of the request that created the event (W3C Trace Context).
  if (span !== undefined) headers.traceparent = span.traceparent;
  const sent = await d.sender.send({
    url: target.url,
    headers,
    body,
    timeoutMs: d.timeoutMs,
    integration: laneOf(event),
    signal,
    keepBytes: target.keepBytes,
  });
  answered?.();
  // A channel that reads its receiver's errors (WhatsApp's codes) words the failure itself.
  const verdict = sent.outcome.kind === 'response' ? target.judge?.(sent) : undefined;
  const result: SendResult = verdict === undefined ? sent : { ...sent, error: verdict.reason };
  const outcome = await (span === undefined
    ? recordOutcome(d, event, target, attemptNumber, startedAt, result, verdict)
    : span.run(() => recordOutcome(d, event, target, attemptNumber, startedAt, result, verdict)));
  span?.end(outcome ?? 'abandoned', result.statusCode, result.error);
}

/**
 * Records what one send came to, in the database, the metrics and the log; returns the outcome
 * as counted (undefined: abandoned at shutdown, not counted).
 */
async function recordOutcome(
  d: AttemptDeps,
  event: OutboxEvent,
  target: Extract<Target, { kind: 'send' }>,
  attemptNumber: number,
  startedAt: number,
  result: SendResult,
  verdict: ChannelVerdict | undefined,
): Promise<AttemptOutcome | undefined> {
  const { store } = d;

  if (result.outcome.kind === 'aborted') {
    // Shutdown gave up on it: not delivered, not counted; the next start repeats it.
    await store.transaction(async (tx) => {
      await tx.deliveryLog.insert(
        attemptRow(event, target.url, attemptNumber, startedAt, result, 'abandoned'),
      );
      await tx.outbox.releaseLease(event.id, d.owner);
    });
    return undefined;
  }

  let decision = decide({
    outcome: result.outcome,
    attemptsMade: attemptNumber,
    scheduleMs: d.scheduleMs,
    random: d.random(),
  });
  if (verdict?.action === 'dead') decision = { action: 'dead' };
  if (verdict?.action === 'disable') decision = { action: 'disable' };
  // A channel or a bot has no integration to disable: its 410 ends this message's journey,
  // unless the channel can stop its own sending (WhatsApp's invalid token).
  if (decision.action === 'disable' && event.destination !== 'panel' && target.disable === undefined) {
    decision = { action: 'dead' };
  }
  const settledAt = d.clock();
  const answer = target.answer;
  if (decision.action === 'delivered' && answer !== undefined) {
    // An engine that answers (Rasa): the answer's effects commit with the delivery, or neither.
    const note = await store.transaction(async (tx) => {
      const row = attemptRow(event, target.url, attemptNumber, startedAt, result, 'delivered');
      await tx.deliveryLog.insert(row);
      const settled = await tx.outbox.settle(event.id, d.owner, {
        status: 'delivered',
        attemptCount: attemptNumber,
        nextAttemptAt: null,
        deliveredAt: settledAt,
        lastError: null,
      });
      if (!settled) return null;
      const why = await answer(tx, result.fullBody ?? result.responseBody ?? '');
      if (why !== null) await tx.deliveryLog.noteError(row.id, storable(why) ?? why);
      return why;
    });
    if (note !== null) {
      d.log.warn({ eventId: event.id, projectId: event.projectId, note }, 'bot engine answer partly used');
    }
  } else if (decision.action === 'delivered') {
    // The common case, in one statement. Named by its event, it shares a batch's write and
    // COMMIT with the other records and requests of its turn on PostgreSQL (runBatch): one write
    // per record was a third of relevo's CPU in benchmark (b) there.
    const attempt = attemptRow(event, target.url, attemptNumber, startedAt, result, 'delivered');
    await store.transaction(
      (tx) => tx.deliveryLog.recordDelivered(attempt, d.owner, settledAt, event.destination === 'panel'),
      undefined,
      eventKey(event.id),
    );
  } else {
    await store.transaction((tx) =>
      record(d, tx, event, target, attemptNumber, startedAt, settledAt, result, decision),
    );
    if (decision.action === 'disable' && target.disable !== undefined) {
      d.log.warn(
        { eventId: event.id, projectId: event.projectId, roomId: event.roomId, reason: result.error },
        "channel sending disabled until the channel's configuration is saved again",
      );
    }
  }
  const outcome = OUTCOMES[decision.action];
  // The request id of the call that created the event joins this line to that call's own.
  const line = {
    eventId: event.id,
    projectId: event.projectId,
    attempt: attemptNumber,
    requestId: event.requestId,
  };
  if (decision.action === 'delivered') {
    d.metrics?.attempt(outcome, settledAt - event.createdAt);
    d.log.debug({ ...line, statusCode: result.statusCode }, 'webhook attempt delivered');
  } else {
    d.metrics?.attempt(outcome);
    d.log.info({ ...line, action: decision.action, error: result.error }, 'webhook attempt failed');
  }
  return outcome;
}

/** How relevo_delivery_attempts_total names each decision of the retry policy. */
const OUTCOMES: Record<Decision['action'], AttemptOutcome> = {
  delivered: 'delivered',
  retry: 'retrying',
  dead: 'dead',
  disable: 'disabled',
};

async function record(
  d: AttemptDeps,
  tx: Tx,
  event: OutboxEvent,
  target: Extract<Target, { kind: 'send' }>,
  attemptNumber: number,
  startedAt: number,
  now: number,
  result: SendResult,
  /** Not `delivered`: attempt() records that case in one statement (recordDelivered). */
  decision: Exclude<Decision, { action: 'delivered' }>,
): Promise<void> {
  const outcome: AttemptResult = decision.action === 'disable' ? 'gone' : 'failed';
  await tx.deliveryLog.insert(attemptRow(event, target.url, attemptNumber, startedAt, result, outcome));
  const panel = event.destination === 'panel';
  switch (decision.action) {
    case 'disable':
      // The event keeps its place (and its attempt count): it goes out once the integration
      // is updated and enabled again.
      await tx.outbox.settle(event.id, d.owner, {
        status: 'pending',
        attemptCount: event.attemptCount,
        nextAttemptAt: now,
        deliveredAt: null,
        lastError: storable(result.error),
      });
      if (target.disable !== undefined) await target.disable(tx, now, result.error ?? 'disabled');
      else {
        await tx.integrations.update(event.projectId, {
          enabled: false,
          disabledReason: 'the webhook answered 410 Gone',
          updatedAt: now,
        });
      }
      return;
    case 'retry':
    case 'dead': {
      await tx.outbox.settle(event.id, d.owner, {
        status: decision.action === 'dead' ? 'failed' : 'pending',
        attemptCount: attemptNumber,
        nextAttemptAt: decision.action === 'dead' ? null : now + decision.delayMs,
        deliveredAt: null,
        lastError: storable(result.error),
      });
      if (!panel) return;
      const failingSince = await tx.integrations.noteFailure(event.projectId, now);
      if (now - failingSince >= DISABLE_AFTER_FAILING_MS) {
        await tx.integrations.update(event.projectId, {
          enabled: false,
          disabledReason: 'every attempt failed for 5 days',
          updatedAt: now,
        });
      }
      return;
    }
  }
}

function attemptRow(
  event: OutboxEvent,
  url: string,
  attemptNumber: number,
  startedAt: number,
  result: SendResult,
  outcome: AttemptResult,
) {
  return {
    id: newId('att', startedAt),
    eventId: event.id,
    projectId: event.projectId,
    attemptNumber,
    startedAt,
    durationMs: result.durationMs,
    url,
    statusCode: result.statusCode,
    responseBody: storable(result.responseBody),
    error: storable(result.error),
    outcome,
  };
}

/**
 * A receiver's text as the attempt log and the event's last error can keep it: PostgreSQL's text
 * cannot hold U+0000, and an outcome that cannot be recorded would leave its event leased, then
 * sent again, forever.
 */
function storable(text: string | null): string | null {
  return text?.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}
