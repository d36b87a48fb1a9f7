/**
 * Who the visitor is talking to, as the live stream tells the page: `event: handoff` frames,
 * sent where the room changes hands, between the messages on either side of the change. A
 * message belongs to the conversation it was written in (the panel's messages and the visitor's
 * while the panel has the room) or to none (the bot's), so the stream sees a change as it sends
 * the messages; a change with no message after it yet (a start without initialMessage, the
 * bot's handoff) is found by reading the room's active conversation.
 */
import type { Bot, Conversation, Message } from '../../model/types.js';
import type { Queries } from '../../storage/store.js';

/** What the page shows when the panel names nobody. */
export const SUPPORT_TEAM = 'Support team';
/** A header line, not a paragraph: longer names are cut. */
const NAME_MAX = 80;

export interface HandoffView {
  readonly to: 'person' | 'bot';
  /** The person's display name, or the bot's name. */
  readonly name: string;
}

function clip(name: string): string {
  const chars = [...name.trim()];
  return chars.length > NAME_MAX ? `${chars.slice(0, NAME_MAX - 1).join('')}…` : chars.join('');
}

/**
 * The name the visitor sees for the person: the panel's `metadata.agentName` when it sends one
 * at the start, else the assignment's target (the agent, team or queue the panel routed to),
 * else "Support team". Nothing else of the metadata reaches the browser.
 */
export function personName(c: Conversation | undefined): string {
  const agentName = c?.metadata?.agentName;
  if (typeof agentName === 'string' && agentName.trim() !== '') return clip(agentName);
  const target = c?.assignment?.target;
  if (typeof target === 'string' && target.trim() !== '') return clip(target);
  return SUPPORT_TEAM;
}

function frame(view: HandoffView): string {
  return `event: handoff\ndata: ${JSON.stringify(view)}\n\n`;
}

/** One per stream: remembers what the page was last told, and says only what changed. */
export class HandoffTracker {
  /**
   * The conversation the page was last told about; null: the bot. Undefined at first, so every
   * stream, new or resumed, opens by saying who has the room at its first message (or now,
   * when it has none to send): a page that reconnects learns what it missed.
   */
  private told: string | null | undefined;

  constructor(
    private readonly queries: Queries,
    private readonly bot: Bot,
  ) {}

  /** The frames to send before `m`, when it was written in other hands than the last told. */
  before(m: Message): Promise<string> {
    return this.moveTo(m.conversationId, undefined);
  }

  /** The frames for the room in the state read: `active`, its active conversation, if any. */
  at(active: Conversation | undefined): Promise<string> {
    return this.moveTo(active?.id ?? null, active);
  }

  private async moveTo(id: string | null, known: Conversation | undefined): Promise<string> {
    if (id === this.told) return '';
    // From one conversation straight into another: the first ended before the next began.
    const between = typeof this.told === 'string' && id !== null ? frame(this.botView()) : '';
    this.told = id;
    if (id === null) return frame(this.botView());
    const conversation = known ?? (await this.queries.conversations.get(this.bot.projectId, id));
    return between + frame({ to: 'person', name: personName(conversation) });
  }

  private botView(): HandoffView {
    return { to: 'bot', name: this.bot.name };
  }
}
