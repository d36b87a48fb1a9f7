/**
 * Reading a receiver's record of panel webhooks for conversation events: which event each one
 * is, and, per room, the order in which they first arrived (a delivery repeated after a crash
 * carries the same webhook-id and counts once).
 */
import type { Received } from './receiver.js';

interface ConversationEventBody {
  event: string;
  bot: { id: string };
  contact: { id: string };
  conversation: { id: string };
}

/** "start:<conversationId>" or "close:<conversationId>", and its room as "<botId>/<userId>". */
export function conversationEventOf(r: Received): { key: string; pair: string } {
  const body = JSON.parse(r.body) as ConversationEventBody;
  return {
    key: `${body.event === 'conversation.start' ? 'start' : 'close'}:${body.conversation.id}`,
    pair: `${body.bot.id}/${body.contact.id}`,
  };
}

/**
 * Per room, the events in the order they first arrived, and how many distinct webhook-ids
 * arrived. `keep` leaves out the events it refuses (a request cut by a crash, never answered).
 */
export function firstArrivalsByPair(
  received: readonly Received[],
  keep: (key: string) => boolean = () => true,
): { byPair: Map<string, string[]>; distinct: number } {
  const seen = new Set<string>();
  const byPair = new Map<string, string[]>();
  for (const r of received) {
    const id = String(r.headers['webhook-id']);
    if (seen.has(id)) continue;
    seen.add(id);
    const { key, pair } = conversationEventOf(r);
    if (!keep(key)) continue;
    byPair.set(pair, [...(byPair.get(pair) ?? []), key]);
  }
  return { byPair, distinct: seen.size };
}
