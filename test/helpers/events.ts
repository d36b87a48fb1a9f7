/** Helpers that produce events and read the delivery state straight from the store. */

import { startConversation } from '../../src/domain/conversations/start.js';
import { appendEvent } from '../../src/domain/outbox.js';
import { createBot, createEndUser } from '../../src/domain/projects/project.service.js';
import type { Bot, EndUser, OutboxEvent } from '../../src/model/types.js';
import type { Store, Tx } from '../../src/storage/store.js';

export interface Pair {
  readonly botId: string;
  readonly userId: string;
  readonly roomId: string;
}

/** A new bot and end user with a started conversation (one conversation.start event). */
export async function startedPair(
  store: Store,
  projectId: string,
  i = 0,
): Promise<Pair & { eventId: string }> {
  return store.transaction(async (tx) => {
    const now = Date.now();
    const bot = await createBot(tx, projectId, `Bot ${i}`, 'webchat', now);
    const user = await createEndUser(tx, projectId, `User ${i}`, null, now);
    const { conversation } = await startConversation(tx, { projectId, botId: bot.id, userId: user.id, now });
    const ev = (await tx.outbox.list(projectId, { conversationId: conversation.id }, { limit: 1 })).items[0];
    return { botId: bot.id, userId: user.id, roomId: conversation.roomId, eventId: ev?.id ?? '' };
  });
}

/** Appends a `message`-typed test event carrying `n` to a room. */
export async function appendTestEvent(
  store: Store,
  projectId: string,
  roomId: string,
  n: number,
): Promise<OutboxEvent> {
  return store.transaction((tx) =>
    appendEvent(tx, {
      projectId,
      roomId,
      conversationId: null,
      type: 'message',
      createdAt: Date.now(),
      payload: { field: 'messages', room_id: roomId, n },
    }),
  );
}

/** Polls the committed state until `predicate` holds (for state the receiver cannot observe). */
export async function eventually<T>(
  read: () => Promise<T>,
  predicate: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (predicate(v)) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An http bot whose channel posts to `channelUrl`, signed with `signingKey`, and an end user. */
export async function httpBotWithUser(
  tx: Tx,
  projectId: string,
  o: {
    readonly botName: string;
    readonly channelUrl: string;
    readonly signingKey: string;
    readonly now: number;
  },
): Promise<{ bot: Bot; user: EndUser }> {
  const bot = await createBot(tx, projectId, o.botName, 'http', o.now);
  await tx.bots.putChannel({
    botId: bot.id,
    webhookUrl: o.channelUrl,
    signingKey: o.signingKey,
    createdAt: o.now,
    updatedAt: o.now,
  });
  const user = await createEndUser(tx, projectId, 'Ana Lima', `ref-${bot.id}`, o.now);
  return { bot, user };
}
