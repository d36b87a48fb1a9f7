/**
 * Test events (docs/api.md §5.9): a sample `conversation.start`, `message` or `conversation.close`
 * in the documented shape, sent to the project's integration as a real delivery — through the
 * outbox, signed, retried, in the delivery log — so that a receiver can be tried before any end
 * user writes.
 *
 * An event belongs to a room, and a room to a bot and an end user. Every test event gets a room
 * of its own, under the project's test bot ("relevo test events", made on the first test) and a
 * new end user ("Test user"); both are deleted as they are made, so no list shows them and no
 * channel reaches them. A room of its own per test means a test never waits behind (or holds
 * up) a real event, nor another test: a receiver that failed the first test (its event then
 * retries for up to a day, docs/webhooks.md) still gets the second at once. The bot's id is the
 * project id's 26 characters under the bot prefix, so it is found again without a lookup table.
 */
import { newId } from '../../model/ids.js';
import type { EventOrigin, EventType, OutboxEvent } from '../../model/types.js';
import type { Store, Tx } from '../../storage/store.js';
import { conversationCloseEvent, conversationStartEvent, messageEvent } from '../events.js';
import { appendEvent } from '../outbox.js';
import { requireProject } from '../projects/project.service.js';

export const TEST_BOT_NAME = 'relevo test events';
export const TEST_USER_NAME = 'Test user';
/** The start's `value.metadata`: how a receiver tells a test from a real conversation. */
export const TEST_METADATA = { test: true, sentBy: 'relevo' } as const;

export interface TestPair {
  readonly roomId: string;
  readonly botId: string;
  readonly userId: string;
}

/** The id of a project's test bot. */
export function testBotId(projectId: string): string {
  return `bot_${projectId.slice(projectId.indexOf('_') + 1)}`;
}

/** Makes the project's test bot on its first test event. */
async function ensureTestBot(tx: Tx, projectId: string, now: number): Promise<string> {
  const botId = testBotId(projectId);
  if ((await tx.bots.get(projectId, botId, { includeDeleted: true })) !== undefined) return botId;
  await tx.bots.insert({
    id: botId,
    projectId,
    name: TEST_BOT_NAME,
    channel: 'http',
    engine: 'rules',
    createdAt: now,
  });
  await tx.bots.softDelete(projectId, botId, now);
  return botId;
}

/** A new room, with a new (deleted) test user, for one test event. */
async function newTestRoom(tx: Tx, projectId: string, now: number): Promise<TestPair> {
  const botId = await ensureTestBot(tx, projectId, now);
  const userId = newId('usr', now);
  await tx.endUsers.insert({
    id: userId,
    projectId,
    names: TEST_USER_NAME,
    referenceId: null,
    createdAt: now,
  });
  await tx.endUsers.softDelete(projectId, userId, now);
  const roomId = newId('room', now);
  await tx.rooms.insert({ id: roomId, projectId, botId, userId, createdAt: now });
  return { roomId, botId, userId };
}

/**
 * Appends one test event of `type`. With an integration it is sent there; without one it is
 * recorded `skipped`, like every event of such a project, and still reaches the event stream
 * (`relevo listen` forwards it to a local receiver, as `stripe trigger` with `stripe listen`).
 * Each call is a new sample conversation id; a `message` carries a text, a `conversation.close`
 * a text redirect.
 */
export async function sendTestEvent(
  tx: Tx,
  projectId: string,
  type: EventType,
  now: number,
): Promise<OutboxEvent> {
  await requireProject(tx, projectId);
  const pair = await newTestRoom(tx, projectId, now);
  const conversationId = newId('conv', now);
  const common = {
    timestamp: now,
    projectId,
    roomId: pair.roomId,
    user: { id: pair.userId, names: TEST_USER_NAME },
    bot: { id: pair.botId, name: TEST_BOT_NAME },
    conversationId,
  };
  let payload: Record<string, unknown>;
  if (type === 'conversation.start') {
    payload = {
      ...conversationStartEvent({
        ...common,
        initialMessage: 'This is a test event sent from relevo.',
        metadata: { ...TEST_METADATA },
      }),
    };
  } else if (type === 'message') {
    payload = {
      ...messageEvent({
        ...common,
        message: {
          id: newId('msg', now),
          type: 'text',
          content: { body: 'This is a test message sent from relevo.' },
        },
      }),
    };
  } else {
    payload = {
      ...conversationCloseEvent({
        ...common,
        redirectPayload: { type: 'text', text: 'This is a test close sent from relevo.' },
      }),
    };
  }
  return appendEvent(tx, {
    projectId,
    roomId: pair.roomId,
    conversationId,
    type,
    createdAt: now,
    payload,
  });
}

/**
 * `sendTestEvent` in its own transaction. Two first tests of a project at once both try to make
 * its bot; the one that loses finds the bot made and is run once more.
 */
export async function sendTestEventNow(
  store: Store,
  projectId: string,
  type: EventType,
  now: number,
  origin?: EventOrigin,
) {
  try {
    return await store.transaction((tx) => sendTestEvent(tx, projectId, type, now), origin);
  } catch (e) {
    if (
      (await store.queries.bots.get(projectId, testBotId(projectId), { includeDeleted: true })) === undefined
    )
      throw e;
    return await store.transaction((tx) => sendTestEvent(tx, projectId, type, now), origin);
  }
}
