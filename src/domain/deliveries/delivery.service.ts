/**
 * The delivery log (docs/api.md §5.5, docs/webhooks.md, "The delivery log API"): what was sent to the
 * panel's webhook, how each attempt ended, and the two ways to send again. A delivery is an
 * outbox event seen from the panel's side, so its id is the event id — the `webhook-id` the
 * receiver saw on every attempt.
 *
 * Input parsing takes text, as it arrives in a query string or on a command line, so the HTTP
 * routes and the `relevo` command check the same things with the same words.
 */

import { ApiError, problemMap, validationError } from '../../errors.js';
import {
  type AttemptView,
  DELIVERY_STATUSES,
  type DeliveryDetailView,
  type DeliveryPageView,
  type DeliveryView,
  EVENT_TYPES,
} from '../../model/delivery-views.js';
import { parseInstant } from '../../model/time.js';
import type { DeliveryAttempt, OutboxEvent } from '../../model/types.js';
import type { EventFilter, LogDestination, PageRequest, Queries, Tx } from '../../storage/store.js';

/**
 * The delivery log's three sides (docs/webhooks.md, "The delivery log API"): the panel's webhook,
 * the bots' outside engines, and the bots' channels (a WhatsApp message Meta refused is the
 * panel's to see: the user never got it).
 */
export const LOG_DESTINATIONS: readonly LogDestination[] = ['panel', 'bot', 'channel'];

export const DELIVERY_PAGE_DEFAULT = 50;
export const DELIVERY_PAGE_MAX = 200;
/** Ids are a short prefix and 26 characters; anything far longer is not a cursor we gave out. */
export const DELIVERY_CURSOR_MAX = 64;

/** REST times are ISO-8601 UTC with milliseconds (docs/api.md §4). */
const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

// Every view lists its keys, so a column added to OutboxEvent (its lease owner, say) never
// reaches an answer by accident.
export function deliveryView(e: OutboxEvent): DeliveryView {
  return {
    id: e.id,
    eventType: e.type,
    conversationId: e.conversationId,
    roomId: e.roomId,
    status: e.status,
    attemptCount: e.attemptCount,
    nextAttemptAt: isoOrNull(e.nextAttemptAt),
    deliveredAt: isoOrNull(e.deliveredAt),
    createdAt: iso(e.createdAt),
    lastError: e.lastError,
  };
}

export function attemptView(a: DeliveryAttempt): AttemptView {
  return {
    id: a.id,
    attemptNumber: a.attemptNumber,
    startedAt: iso(a.startedAt),
    durationMs: a.durationMs,
    url: a.url,
    statusCode: a.statusCode,
    responseBody: a.responseBody,
    error: a.error,
    outcome: a.outcome,
  };
}

export function deliveryDetailView(e: OutboxEvent, attempts: readonly DeliveryAttempt[]): DeliveryDetailView {
  return {
    ...deliveryView(e),
    // The stored text is what was signed; parsed here so callers get an object, not a string
    // holding JSON. JSON.parse keeps key order, so re-serialising gives the same bytes.
    payload: JSON.parse(e.payload),
    attempts: attempts.map(attemptView),
  };
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

export interface DeliveryQueryText {
  readonly destination?: string | undefined;
  readonly status?: string | undefined;
  readonly eventType?: string | undefined;
  readonly conversationId?: string | undefined;
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
}

/**
 * Checks every parameter and reports all problems at once, each under the parameter's name.
 * The route's schema already refuses most of these; checking again here costs nothing and is
 * the only check the command line gets.
 */
export function parseDeliveryQuery(q: DeliveryQueryText): { filter: EventFilter; page: PageRequest } {
  const problems = problemMap();
  const destination = LOG_DESTINATIONS.find((d) => d === q.destination);
  if (q.destination !== undefined && destination === undefined) problems.destination = [DESTINATION_PROBLEM];
  const status = DELIVERY_STATUSES.find((s) => s === q.status);
  if (q.status !== undefined && status === undefined) {
    problems.status = [`must be one of: ${DELIVERY_STATUSES.join(', ')}`];
  }
  const type = EVENT_TYPES.find((t) => t === q.eventType);
  if (q.eventType !== undefined && type === undefined) {
    problems.eventType = [`must be one of: ${EVENT_TYPES.join(', ')}`];
  }
  if (q.conversationId !== undefined && q.conversationId.length === 0) {
    problems.conversationId = ['must not be empty'];
  }
  let limit = DELIVERY_PAGE_DEFAULT;
  if (q.limit !== undefined) {
    // Digits only: Number() would also read "1e2", " 5" and "0x10".
    limit = /^\d{1,6}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= DELIVERY_PAGE_MAX)) {
      problems.limit = [`must be a whole number from 1 to ${DELIVERY_PAGE_MAX}`];
    }
  }
  if (q.cursor !== undefined && (q.cursor.length === 0 || q.cursor.length > DELIVERY_CURSOR_MAX)) {
    problems.cursor = ['must be the nextCursor of a previous page'];
  }
  if (Object.keys(problems).length > 0) throw validationError(problems);
  return {
    filter: { destination, status, type, conversationId: q.conversationId },
    page: { limit, after: q.cursor },
  };
}

const DESTINATION_PROBLEM = `must be one of: ${LOG_DESTINATIONS.join(', ')}`;

/** A replay's `destination` as text (the command line's option); undefined means the panel. */
export function parseDestination(text: string | undefined): LogDestination | undefined {
  if (text === undefined) return undefined;
  const destination = LOG_DESTINATIONS.find((d) => d === text);
  if (destination === undefined) throw validationError({ destination: [DESTINATION_PROBLEM] });
  return destination;
}

/**
 * RFC 3339 (the ISO-8601 profile of the web): a full date and time with an explicit zone. A
 * time without a zone is refused rather than guessed: the server's local zone is nobody's
 * business, and a replay off by hours re-sends (or misses) a lot.
 */
/** `since` of a replay as epoch milliseconds; throws a validation error naming `since`. */
export function parseSince(text: string, now: number): number {
  // A replay needs a time of day: a date alone would quietly mean midnight UTC.
  const at = /t/i.test(text) ? parseInstant(text) : undefined;
  if (at === undefined) {
    throw validationError({
      since: ['must be an ISO-8601 date and time with a time zone, e.g. 2026-01-15T10:30:00.000Z'],
    });
  }
  // Sub-millisecond digits are dropped (rounded down): `since` is inclusive, so rounding down
  // can only add an event of that same millisecond, never miss one.
  if (at > now) throw validationError({ since: ['must not be in the future'] });
  return at;
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

function notFound(id: string): ApiError {
  return new ApiError('delivery_not_found', `No delivery with id '${id}' exists in this project.`);
}

/** The event only when it is one of this project's: another project's id is simply not found. */
async function eventOf(q: Queries, projectId: string, id: string): Promise<OutboxEvent> {
  const event = await q.outbox.get(id);
  if (event === undefined || event.projectId !== projectId) {
    throw notFound(id);
  }
  return event;
}

async function requireIntegration(q: Queries, projectId: string): Promise<void> {
  // Requeued events of a project without an integration would never be claimed: saying so now
  // beats a 200 for something that cannot happen.
  if ((await q.integrations.get(projectId)) === undefined) throw new ApiError('integration_not_found');
}

export async function listDeliveries(
  q: Queries,
  projectId: string,
  filter: EventFilter,
  page: PageRequest,
): Promise<DeliveryPageView> {
  const result = await q.outbox.list(projectId, filter, page);
  return { items: result.items.map(deliveryView), nextCursor: result.nextCursor };
}

export async function getDelivery(q: Queries, projectId: string, id: string): Promise<DeliveryDetailView> {
  const event = await eventOf(q, projectId, id);
  return deliveryDetailView(event, await q.deliveryLog.list(event.id));
}

export interface RetryResult {
  readonly delivery: DeliveryDetailView;
  /**
   * False when an attempt was in flight: nothing changed, that attempt is the retry. (Its
   * outcome follows the schedule as usual: if it fails, the next try waits its backoff.)
   */
  readonly requeued: boolean;
}

/**
 * Sends one delivery again now, keeping its id and payload: a settled one (delivered, failed,
 * cancelled, skipped) starts a new delivery cycle with attempt numbers from 1; a pending one
 * waiting on its backoff is made due at once. Per-room order still holds: an event behind an
 * earlier pending event of its room waits for it.
 */
export async function retryDelivery(
  tx: Tx,
  projectId: string,
  id: string,
  now: number,
): Promise<RetryResult> {
  const event = await eventOf(tx, projectId, id);
  // A bot's event goes to its engine, not to the integration.
  if (event.destination === 'panel') await requireIntegration(tx, projectId);
  const requeued = (await tx.outbox.requeue(projectId, { kind: 'one', eventId: id }, now)) > 0;
  return { delivery: await getDelivery(tx, projectId, id), requeued };
}

export interface ReplayInput {
  /** Epoch milliseconds, inclusive. */
  readonly since: number;
  readonly conversationId?: string | undefined;
  /** The panel's events (default) or the bots' outside engines'. */
  readonly destination?: LogDestination | undefined;
}

/**
 * Every event of the project (or of one conversation) created at or after `since` that is not
 * already pending starts a new delivery cycle with its original id and payload; pending ones
 * are on their way already. Returns how many were requeued.
 */
export async function replayDeliveries(
  tx: Tx,
  projectId: string,
  input: ReplayInput,
  now: number,
): Promise<{ replayed: number }> {
  if ((input.destination ?? 'panel') === 'panel') await requireIntegration(tx, projectId);
  if (input.conversationId !== undefined) {
    // An unknown conversation would replay nothing and answer 200; a typo deserves a 404.
    const conversation = await tx.conversations.get(projectId, input.conversationId);
    if (conversation === undefined) {
      throw new ApiError(
        'conversation_not_found',
        `No conversation with id '${input.conversationId}' exists in this project.`,
      );
    }
  }
  const replayed = await tx.outbox.requeue(
    projectId,
    {
      kind: 'since',
      since: input.since,
      conversationId: input.conversationId,
      destination: input.destination,
    },
    now,
  );
  return { replayed };
}
