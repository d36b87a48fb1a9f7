/**
 * Test events (docs/api.md §5.9): a sample `conversation.start`, `message` or `conversation.close`
 * in the documented shape, sent to the project's integration as a real delivery — through the
 * outbox, signed, retried, in the delivery log — so that a receiver can be tried before any end
 * user writes.
 *
 * An event belongs to a room, and a room to a bot and an end user. Test events use one room per
 * project whose bot ("relevo test events") and end user ("Test user") are made on the first test
 * and deleted at once: no list shows them, no channel reaches them, and no real conversation is
 * ever in their room, so a test never waits behind (or holds up) a real event. Their ids are the
 * project id's 26 characters under the room, bot and user prefixes: found again without a lookup
 * table, and recognisable in the delivery log.
 */
import { newId } from '../../model/ids.js';
import type { EventType, OutboxEvent } from '../../model/types.js';
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

/** The ids of a project's test room, its bot and its end user. */
export function testPair(projectId: string): TestPair {
  const suffix = projectId.slice(projectId.indexOf('_') + 1);
  return { roomId: `room_${suffix}`, botId: `bot_${suffix}`, userId: `usr_${suffix}` };
}

/** Makes the test room on a project's first test event. */
async function ensureTestRoom(tx: Tx, projectId: string, now: number): Promise<TestPair> {
  const pair = testPair(projectId);
  if ((await tx.rooms.get(projectId, pair.roomId)) !== undefined) return pair;
  await tx.bots.insert({
    id: pair.botId,
    projectId,
    name: TEST_BOT_NAME,
    channel: 'http',
    engine: 'rules',
    createdAt: now,
  });
  await tx.bots.softDelete(projectId, pair.botId, now);
  await tx.endUsers.insert({
    id: pair.userId,
    projectId,
    names: TEST_USER_NAME,
    referenceId: null,
    createdAt: now,
  });
  await tx.endUsers.softDelete(projectId, pair.userId, now);
  await tx.rooms.insert({
    id: pair.roomId,
    projectId,
    botId: pair.botId,
    userId: pair.userId,
    createdAt: now,
  });
  return pair;
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
  const pair = await ensureTestRoom(tx, projectId, now);
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
 * its room; the one that loses finds the room made and is run once more.
 */
export async function sendTestEventNow(store: Store, projectId: string, type: EventType, now: number) {
  try {
    return await store.transaction((tx) => sendTestEvent(tx, projectId, type, now));
  } catch (e) {
    if ((await store.queries.rooms.get(projectId, testPair(projectId).roomId)) === undefined) throw e;
    return await store.transaction((tx) => sendTestEvent(tx, projectId, type, now));
  }
}
