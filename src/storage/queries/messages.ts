/** Messages of rooms and conversations; inserting one is a transaction's (it is announced after the commit). */
import type { Message, MessageSender, MessageType } from '../../model/types.js';
import type { TxRecord } from '../tx-record.js';
import type { SqlExecutor } from './executor.js';
import { type Page, type PageRequest, selectPage } from './paging.js';

export interface MessageRow {
  id: string;
  project_id: string;
  room_id: string;
  conversation_id: string | null;
  sender: string;
  type: string;
  content: string;
  external_id: string | null;
  created_at: number;
}

export const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  projectId: r.project_id,
  roomId: r.room_id,
  conversationId: r.conversation_id,
  sender: r.sender as MessageSender,
  type: r.type as MessageType,
  content: JSON.parse(r.content) as Record<string, unknown>,
  externalId: r.external_id,
  createdAt: Number(r.created_at),
});

const INSERT_MESSAGE = `INSERT INTO messages (id, project_id, room_id, conversation_id, sender, type, content, external_id, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export class MessageQueries {
  constructor(protected readonly x: SqlExecutor) {}
  async getByExternalId(roomId: string, externalId: string): Promise<Message | undefined> {
    const r = await this.x.one<MessageRow>(
      'SELECT * FROM messages WHERE room_id = ? AND external_id = ?',
      roomId,
      externalId,
    );
    return r && toMessage(r);
  }
  /** A conversation's transcript, oldest first. */
  async listOfConversation(conversationId: string, page: PageRequest): Promise<Page<Message>> {
    return selectPage(
      this.x,
      page,
      toMessage,
      'SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?',
      conversationId,
      page.after ?? '',
    );
  }
  /** A room's whole history across conversations, oldest first (the web chat's history). */
  async listOfRoom(roomId: string, page: PageRequest): Promise<Page<Message>> {
    return selectPage(
      this.x,
      page,
      toMessage,
      'SELECT * FROM messages WHERE room_id = ? AND id > ? ORDER BY id LIMIT ?',
      roomId,
      page.after ?? '',
    );
  }
}

/** The writes of a transaction: what it inserts goes on its record, announced after the commit. */
export class MessageTxQueries extends MessageQueries {
  constructor(
    x: SqlExecutor,
    private readonly written: TxRecord,
  ) {
    super(x);
  }
  /** A message routed to the bot moves into the conversation the panel now holds (a Rasa bot's). */
  async assignConversation(messageId: string, conversationId: string): Promise<void> {
    await this.x.run('UPDATE messages SET conversation_id = ? WHERE id = ?', conversationId, messageId);
  }
  async insert(m: Message): Promise<void> {
    const values = [
      m.id,
      m.projectId,
      m.roomId,
      m.conversationId,
      m.sender,
      m.type,
      JSON.stringify(m.content),
      m.externalId,
      m.createdAt,
    ];
    // Only an external id can collide (messages_external), and its caller reads the winner:
    // guarded. Without one, only a broken reference (a room that does not exist) could refuse it,
    // and nothing reads its answer: it is sent without waiting (a close's hand-back message
    // shares the COMMIT's round trip), and a refusal fails the transaction at its commit.
    if (m.externalId === null) await this.x.send(INSERT_MESSAGE, ...values);
    else await this.x.guardedRun(INSERT_MESSAGE, ...values);
    this.written.messages.push(m);
  }
}
