/**
 * Reading conversations: the shapes the API answers with (docs/api.md §4.8 and the §5 list and
 * transcript) and the checks on the text a caller filters them with. Kept apart from the HTTP
 * routes so the command line can give exactly the same answers from the same database.
 */

import { ApiError, problemMap, type ValidationErrors, validationError } from '../../errors.js';
import {
  CONVERSATION_STATES,
  type ConversationView,
  type MessageView,
} from '../../model/conversation-views.js';
import { parseInstant } from '../../model/time.js';
import type { Bot, Conversation, EndUser, Message } from '../../model/types.js';
import type { ConversationFilter, Page, PageRequest, Queries } from '../../storage/store.js';

export const CONVERSATION_PAGE_DEFAULT = 50;
export const CONVERSATION_PAGE_MAX = 200;

/** REST times are ISO-8601 UTC with milliseconds (docs/api.md §4). */
const iso = (ms: number): string => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export interface PageView<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/**
 * docs/api.md §4.8. JSON.stringify keeps insertion order, so the order of the keys below is the order
 * on the wire: the documented keys first, then the extensions. Keys that do not apply are left
 * out, not set to null: the documentation shows endAt and endedReason on closed conversations
 * only, and an extension must stay invisible to a client that never asked for it.
 */
export function conversationView(
  c: Conversation,
  user: Pick<EndUser, 'id' | 'names' | 'referenceId'>,
  bot: Pick<Bot, 'id' | 'name'>,
): ConversationView {
  const closed = c.state === 'closed';
  return {
    _id: c.id,
    roomId: c.roomId,
    state: c.state,
    startAt: iso(c.startAt),
    // A closed conversation always has both (one statement sets them); the null checks only keep
    // a damaged row from answering "1970-01-01".
    ...(closed && c.endAt !== null ? { endAt: iso(c.endAt) } : {}),
    ...(closed && c.endedReason !== null ? { endedReason: c.endedReason } : {}),
    User: { id: user.id, names: user.names, referenceId: user.referenceId },
    Bot: { id: bot.id, name: bot.name },
    ...(c.assignment !== null
      ? { assignment: { type: c.assignment.type, target: c.assignment.target } }
      : {}),
    ...(c.metadata !== null ? { metadata: c.metadata } : {}),
  };
}

// Each key is listed: a column added to Message later (the panel's externalId, say) does not
// leak into the transcript by accident.
export const messageView = (m: Message): MessageView => ({
  id: m.id,
  sender: m.sender,
  type: m.type,
  content: m.content,
  createdAt: iso(m.createdAt),
});

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

function notFound(conversationId: string): ApiError {
  return new ApiError(
    'conversation_not_found',
    `No conversation with id ${JSON.stringify(conversationId)} exists in this project.`,
  );
}

/**
 * Views of several conversations, reading each bot and end user once: a page of one busy bot's
 * conversations would otherwise read the same bot a page's worth of times.
 */
async function viewsOf(
  q: Queries,
  projectId: string,
  conversations: readonly Conversation[],
): Promise<ConversationView[]> {
  const bots = new Map<string, Bot>();
  const users = new Map<string, EndUser>();
  const out: ConversationView[] = [];
  for (const c of conversations) {
    let bot = bots.get(c.botId);
    if (bot === undefined) {
      // History: a deleted bot or user still shows the name it had.
      bot = await q.bots.get(projectId, c.botId, { includeDeleted: true });
      if (bot !== undefined) bots.set(bot.id, bot);
    }
    let user = users.get(c.userId);
    if (user === undefined) {
      user = await q.endUsers.get(projectId, c.userId, { includeDeleted: true });
      if (user !== undefined) users.set(user.id, user);
    }
    // Rooms reference their bot and user, whose rows are never removed: a miss is a damaged
    // database, which is a 500, not a conversation to answer with half a view.
    if (bot === undefined || user === undefined) {
      throw new Error(`conversation ${c.id} refers to a missing bot or end user`);
    }
    out.push(conversationView(c, user, bot));
  }
  return out;
}

/** docs/api.md §4.8: a conversation of this project; 404 for any other id, another project's included. */
export async function getConversationView(
  q: Queries,
  projectId: string,
  conversationId: string,
): Promise<ConversationView> {
  const c = await q.conversations.get(projectId, conversationId);
  if (c === undefined) throw notFound(conversationId);
  const [view] = await viewsOf(q, projectId, [c]);
  if (view === undefined) throw notFound(conversationId);
  return view;
}

/** docs/api.md §5.3: the project's conversations, newest first. */
export async function listConversationViews(
  q: Queries,
  projectId: string,
  filter: ConversationFilter,
  page: PageRequest,
): Promise<PageView<ConversationView>> {
  const found: Page<Conversation> = await q.conversations.list(projectId, filter, page);
  return { items: await viewsOf(q, projectId, found.items), nextCursor: found.nextCursor };
}

/** docs/api.md §5.4: a conversation's transcript, oldest first; 404 unless it is of this project. */
export async function listTranscript(
  q: Queries,
  projectId: string,
  conversationId: string,
  page: PageRequest,
): Promise<PageView<MessageView>> {
  // The message query is keyed on the conversation alone: the project is checked here.
  const c = await q.conversations.get(projectId, conversationId);
  if (c === undefined) throw notFound(conversationId);
  const found = await q.messages.listOfConversation(c.id, page);
  // What Meta said of the messages that went out through WhatsApp (docs/channels.md, "WhatsApp").
  const outbound = found.items.filter((m) => m.sender !== 'user').map((m) => m.id);
  const receipts = await q.whatsapp.receiptsOf(outbound);
  return {
    items: found.items.map((m) => {
      const r = receipts.get(m.id);
      if (r === undefined) return messageView(m);
      return {
        ...messageView(m),
        delivery: {
          channel: 'whatsapp' as const,
          status: r.status,
          ...(r.errorCode === null ? {} : { errorCode: r.errorCode }),
          ...(r.errorTitle === null ? {} : { error: r.errorTitle }),
        },
      };
    }),
    nextCursor: found.nextCursor,
  };
}

// ---------------------------------------------------------------------------------------------
// Filters, as text from a query string or a command line
// ---------------------------------------------------------------------------------------------

export interface ConversationQueryText {
  readonly state?: string | undefined;
  readonly botId?: string | undefined;
  readonly userId?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
}

export interface PageQueryText {
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
}

// Cursors are ids, which have one shape; anything else cannot come from a previous page, and is
// refused rather than compared against ids and answered with a page that looks plausible.
const CONVERSATION_CURSOR = /^conv_[0-9a-z]{26}$/;
const MESSAGE_CURSOR = /^msg_[0-9a-z]{26}$/;

function readPage(q: PageQueryText, cursorShape: RegExp, problems: ValidationErrors): PageRequest {
  let limit = CONVERSATION_PAGE_DEFAULT;
  if (q.limit !== undefined) {
    // Digits only: Number() would also read "1e2", " 5", "0x10" and "".
    limit = /^\d{1,6}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= CONVERSATION_PAGE_MAX)) {
      problems.limit = [`must be a whole number from 1 to ${CONVERSATION_PAGE_MAX}`];
    }
  }
  if (q.cursor !== undefined && !cursorShape.test(q.cursor)) {
    problems.cursor = ['must be the nextCursor of a previous page'];
  }
  return { limit, after: q.cursor };
}

const INSTANT_PROBLEM =
  'must be an ISO-8601 date (2026-01-15) or date and time with a time zone (2026-01-15T10:30:00.000Z)';

/**
 * The list's filters and page. Every problem is reported at once, each under the name of its
 * query parameter, so one corrected request is enough.
 */
export function parseConversationQuery(q: ConversationQueryText): {
  filter: ConversationFilter;
  page: PageRequest;
} {
  const problems = problemMap();
  const state = CONVERSATION_STATES.find((s) => s === q.state);
  if (q.state !== undefined && state === undefined) {
    problems.state = [`must be one of: ${CONVERSATION_STATES.join(', ')}`];
  }
  if (q.botId !== undefined && q.botId.length === 0) problems.botId = ['must not be empty'];
  if (q.userId !== undefined && q.userId.length === 0) problems.userId = ['must not be empty'];
  const from = q.from === undefined ? undefined : parseInstant(q.from);
  if (q.from !== undefined && from === undefined) problems.from = [INSTANT_PROBLEM];
  const to = q.to === undefined ? undefined : parseInstant(q.to);
  if (q.to !== undefined && to === undefined) problems.to = [INSTANT_PROBLEM];
  // `to` is exclusive: a range that ends where (or before) it starts can match nothing, which
  // is almost certainly the two values swapped.
  if (from !== undefined && to !== undefined && to <= from) problems.to = ['must be later than from'];
  const page = readPage(q, CONVERSATION_CURSOR, problems);
  if (Object.keys(problems).length > 0) throw validationError(problems);
  return {
    filter: { state, botId: q.botId, userId: q.userId, startedFrom: from, startedTo: to },
    page,
  };
}

/** The transcript's page. */
export function parseTranscriptQuery(q: PageQueryText): PageRequest {
  const problems = problemMap();
  const page = readPage(q, MESSAGE_CURSOR, problems);
  if (Object.keys(problems).length > 0) throw validationError(problems);
  return page;
}
