/**
 * A delivered attempt is recorded with one statement where the database allows it (PostgreSQL,
 * without a transaction around it: Store.statement): the attempt's row, the event settled only
 * while its lease is ours, and the integration's failure clock stopped for panel events only.
 * Run against both stores, without a worker, so nothing else touches the events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryAttempt } from '../../src/model/types.js';
import { startedPair } from '../helpers/events.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function setup() {
  const h = await createHarness();
  open.push(h);
  const s = await h.seed();
  const now = Date.now();
  // An integration whose attempts have been failing for four days.
  await h.store.transaction(async (tx) => {
    await tx.integrations.insert({
      id: `int_${now}`,
      projectId: s.project.id,
      webhookUrl: 'http://127.0.0.1:9/hook',
      authType: 'no_auth',
      authorization: null,
      signingSecret: 'secret',
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      createdAt: now,
      updatedAt: now,
    });
    await tx.integrations.noteFailure(s.project.id, now - 4 * 24 * 3_600_000);
  });
  const pair = await startedPair(h.store, s.project.id);
  return { h, projectId: s.project.id, eventId: pair.eventId };
}

function attempt(eventId: string, projectId: string, n: number): DeliveryAttempt {
  return {
    id: `att_test${n}`,
    eventId,
    projectId,
    attemptNumber: n,
    startedAt: Date.now(),
    durationMs: 12,
    url: 'http://127.0.0.1:9/hook',
    statusCode: 200,
    responseBody: 'ok',
    error: null,
    outcome: 'delivered',
  };
}

/** When the failure clock started: a new failure noted now keeps an old start, or starts it now. */
const failingSince = (h: Harness, projectId: string) =>
  h.store.transaction((tx) => tx.integrations.noteFailure(projectId, Date.now()));

describe('recording a delivered attempt', () => {
  it('writes the attempt, settles the event as delivered and stops the failure clock', async () => {
    const { h, projectId, eventId } = await setup();
    const now = Date.now();
    expect(await h.store.transaction((tx) => tx.outbox.lease(eventId, 'wrk_a', now, now + 60_000))).toBe(
      true,
    );

    await h.store.statement((q) =>
      q.deliveryLog.recordDelivered(attempt(eventId, projectId, 1), 'wrk_a', now, true),
    );

    const event = await h.store.queries.outbox.get(eventId);
    expect(event).toMatchObject({
      status: 'delivered',
      attemptCount: 1,
      deliveredAt: now,
      nextAttemptAt: null,
    });
    expect(event?.lastError).toBeNull();
    const attempts = await h.store.queries.deliveryLog.list(eventId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      id: 'att_test1',
      attemptNumber: 1,
      statusCode: 200,
      outcome: 'delivered',
    });
    // The clock was stopped: a failure now starts a new one from now.
    expect(Date.now() - (await failingSince(h, projectId))).toBeLessThan(60_000);
  });

  it('leaves the failure clock alone when told to (a channel event)', async () => {
    const { h, projectId, eventId } = await setup();
    const now = Date.now();
    await h.store.transaction((tx) => tx.outbox.lease(eventId, 'wrk_a', now, now + 60_000));

    await h.store.statement((q) =>
      q.deliveryLog.recordDelivered(attempt(eventId, projectId, 1), 'wrk_a', now, false),
    );

    expect((await h.store.queries.outbox.get(eventId))?.status).toBe('delivered');
    expect(Date.now() - (await failingSince(h, projectId))).toBeGreaterThan(3 * 24 * 3_600_000);
  });

  it('does not settle an event whose lease another worker holds, but keeps the attempt', async () => {
    const { h, projectId, eventId } = await setup();
    const now = Date.now();
    await h.store.transaction((tx) => tx.outbox.lease(eventId, 'wrk_b', now, now + 60_000));

    await h.store.statement((q) =>
      q.deliveryLog.recordDelivered(attempt(eventId, projectId, 1), 'wrk_a', now, true),
    );

    const event = await h.store.queries.outbox.get(eventId);
    expect(event).toMatchObject({ status: 'pending', attemptCount: 0, deliveredAt: null });
    expect(await h.store.queries.deliveryLog.list(eventId)).toHaveLength(1);
  });
});
