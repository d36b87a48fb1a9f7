/**
 * `relevo conversations …`: a project's conversations from the command line, on the database
 * directly with the services behind the HTTP routes (docs/api.md §4.6–§4.8, §4.10 and the §5 list
 * and transcript). Each prints what the matching route answers as `data`; what they write (a
 * message for the end user, a close event) is delivered by the running server's worker, as if
 * it had come through the API.
 */

import { randomUUID } from 'node:crypto';
import { closeConversation } from '../domain/conversations/close.js';
import {
  CONVERSATION_PAGE_DEFAULT,
  CONVERSATION_PAGE_MAX,
  getConversationView,
  listConversationViews,
  listTranscript,
  parseConversationQuery,
  parseTranscriptQuery,
} from '../domain/conversations/conversation.views.js';
import { startConversation } from '../domain/conversations/start.js';
import {
  EXTERNAL_ID_MAX_CHARS,
  type PanelMessageSent,
  parsePanelMessage,
  repeatedPanelMessage,
  sendPanelMessage,
} from '../domain/messages/panel-message.service.js';
import { ApiError, validationError } from '../errors.js';
import { CONVERSATION_STATES } from '../model/conversation-views.js';
import { MESSAGE_TYPES, TEXT_MAX_CHARS } from '../model/message-content.js';
import type { Conversation } from '../model/types.js';
import { UniqueViolation } from '../storage/errors.js';
import type { Queries } from '../storage/store.js';
import { optionString, withProject } from './cli-store.js';
import type { Command, ParsedArgs } from './command.js';

const str = optionString;
const arg = (args: ParsedArgs, i: number): string => args.positionals[i] ?? '';

/** docs/api.md §4.6 and §4.7: an initial message and a redirect text are 1 to 4096 characters. */
function checkedText(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0) throw validationError({ [field]: ['must not be empty'] });
  const length = [...value].length;
  if (length > TEXT_MAX_CHARS)
    throw validationError({ [field]: [`must be at most ${TEXT_MAX_CHARS} characters`] });
  return value;
}

/** The `data` of start and close (docs/api.md §4.6, §4.7). */
const summary = (c: Conversation) => ({
  conversationId: c.id,
  botId: c.botId,
  userId: c.userId,
  status: c.state,
});

/**
 * `{ type, content }` of docs/api.md §4.9 from the options, or the options' own mistakes; the content
 * itself is checked by parsePanelMessage, as for the HTTP route.
 */
function messageValue(a: ParsedArgs): { type: string; content: Record<string, string> } {
  const type = str(a, 'type') ?? 'text';
  const given = (name: string, key: string) => {
    const v = str(a, name);
    return v === undefined ? {} : { [key]: v };
  };
  if (type === 'text') {
    if (str(a, 'text') === undefined) throw validationError({ text: ['is required for a text message'] });
    return { type, content: { body: str(a, 'text') ?? '' } };
  }
  if (str(a, 'text') !== undefined) {
    throw validationError({ text: [`is for text messages; a ${type} takes --caption or --filename`] });
  }
  return {
    type,
    content: {
      ...given('url', 'url'),
      ...given('mime-type', 'mime_type'),
      ...given('caption', 'caption'),
      ...given('filename', 'filename'),
    },
  };
}

async function activeConversation(
  tx: Queries,
  projectId: string,
  conversationId: string,
): Promise<Conversation> {
  const c = await tx.conversations.get(projectId, conversationId);
  if (c === undefined || c.state !== 'active') {
    throw new ApiError(
      'conversation_not_found',
      `No active conversation with id ${JSON.stringify(conversationId)} exists in this project.`,
    );
  }
  return c;
}

export const CONVERSATION_COMMANDS: readonly Command[] = [
  {
    name: 'conversations list',
    summary: "List a project's conversations, newest first",
    args: ['projectId'],
    usage: `[--state ${CONVERSATION_STATES.join('|')}] [--bot <id>] [--user <id>] [--from <time>] [--to <time>] [--limit <n>] [--cursor <c>]`,
    options: {
      state: { type: 'string' },
      bot: { type: 'string' },
      user: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    optionHelp: [
      ['--state <s>', CONVERSATION_STATES.join(' or ')],
      ['--bot <id>', 'only the conversations of this bot'],
      ['--user <id>', 'only the conversations of this end user'],
      ['--from <time>', 'started at or after, e.g. 2026-01-15 or 2026-01-15T10:30:00Z'],
      ['--to <time>', 'started before (exclusive)'],
      ['--limit <n>', `items per page, 1 to ${CONVERSATION_PAGE_MAX} (default ${CONVERSATION_PAGE_DEFAULT})`],
      ['--cursor <c>', 'the nextCursor of the previous page'],
    ],
    run: (ctx, a) =>
      withProject(ctx, arg(a, 0), (store) => {
        const { filter, page } = parseConversationQuery({
          state: str(a, 'state'),
          botId: str(a, 'bot'),
          userId: str(a, 'user'),
          from: str(a, 'from'),
          to: str(a, 'to'),
          limit: str(a, 'limit'),
          cursor: str(a, 'cursor'),
        });
        return listConversationViews(store.queries, arg(a, 0), filter, page);
      }),
  },
  {
    name: 'conversations get',
    summary: 'Show one conversation',
    args: ['projectId', 'conversationId'],
    usage: '',
    options: {},
    run: (ctx, a) =>
      withProject(ctx, arg(a, 0), (store) => getConversationView(store.queries, arg(a, 0), arg(a, 1))),
  },
  {
    name: 'conversations messages',
    summary: "Show a conversation's transcript, oldest first",
    args: ['projectId', 'conversationId'],
    usage: '[--limit <n>] [--cursor <c>]',
    options: { limit: { type: 'string' }, cursor: { type: 'string' } },
    optionHelp: [
      ['--limit <n>', `items per page, 1 to ${CONVERSATION_PAGE_MAX} (default ${CONVERSATION_PAGE_DEFAULT})`],
      ['--cursor <c>', 'the nextCursor of the previous page'],
    ],
    run: (ctx, a) =>
      withProject(ctx, arg(a, 0), (store) => {
        const page = parseTranscriptQuery({ limit: str(a, 'limit'), cursor: str(a, 'cursor') });
        return listTranscript(store.queries, arg(a, 0), arg(a, 1), page);
      }),
  },
  {
    name: 'conversations start',
    summary: 'Hand a bot and end user over to the panel (conversation.start)',
    args: ['projectId'],
    usage: '--bot <botId> --user <userId> [--initial-message <text>]',
    options: { bot: { type: 'string' }, user: { type: 'string' }, 'initial-message': { type: 'string' } },
    required: ['bot', 'user'],
    optionHelp: [
      ['--bot <botId>', 'a bot of the project'],
      ['--user <userId>', 'an end user of the project'],
      ['--initial-message <text>', `delivered to the end user first (1 to ${TEXT_MAX_CHARS} characters)`],
    ],
    run: (ctx, a) => {
      const initialMessage = checkedText('initialMessage', str(a, 'initial-message'));
      return withProject(ctx, arg(a, 0), async (store) => {
        const { conversation } = await store.transaction((tx) =>
          startConversation(tx, {
            projectId: arg(a, 0),
            botId: str(a, 'bot') ?? '',
            userId: str(a, 'user') ?? '',
            initialMessage,
            now: Date.now(),
          }),
        );
        return summary(conversation);
      });
    },
  },
  {
    name: 'conversations send',
    summary: 'Send the end user a message from the panel, in an active conversation',
    args: ['projectId', 'conversationId'],
    usage: `[--type ${MESSAGE_TYPES.join('|')}] [--text <text>] [--url <url> --mime-type <type>] [--caption <text>] [--filename <name>] [--id <panel id>]`,
    options: {
      type: { type: 'string' },
      text: { type: 'string' },
      url: { type: 'string' },
      'mime-type': { type: 'string' },
      caption: { type: 'string' },
      filename: { type: 'string' },
      id: { type: 'string' },
    },
    optionHelp: [
      ['--type <type>', `${MESSAGE_TYPES.join(', ')} (default text)`],
      ['--text <text>', `the message of a text (1 to ${TEXT_MAX_CHARS} characters)`],
      ['--url <url>', 'the media of an image, video, audio or document'],
      ['--mime-type <type>', 'its MIME type, e.g. image/png'],
      ['--caption <text>', 'shown under an image or a video'],
      ['--filename <name>', 'shown for a document'],
      [
        '--id <panel id>',
        `the panel's own message id (value.id, at most ${EXTERNAL_ID_MAX_CHARS} characters)`,
      ],
    ],
    details:
      'Stores the message as POST external-support/webhook would (docs/api.md §4.10), without its\n' +
      "signature: the database is trusted. That route needs the panel's own id of the message\n" +
      '(value.id); without --id one is generated, cli-<random UUID>. Give --id to make a retry\n' +
      'safe: an id already used in the room is acknowledged with the same messageId, not sent\n' +
      'again. Prints { messageId, conversationId }.',
    run: (ctx, a) => {
      const [projectId, conversationId] = [arg(a, 0), arg(a, 1)];
      const value = { id: str(a, 'id') ?? `cli-${randomUUID()}`, ...messageValue(a) };
      return withProject(ctx, projectId, async (store) => {
        const c = await activeConversation(store.queries, projectId, conversationId);
        // The body the panel would have signed, checked by the route's own parser.
        const input = parsePanelMessage({
          field: 'messages',
          object: 'message_event',
          event_type: 'incoming_message',
          project_id: projectId,
          room_id: c.roomId,
          bot_id: c.botId,
          user_id: c.userId,
          value,
        });
        const now = Date.now();
        let sent: PanelMessageSent;
        try {
          sent = await store.transaction(async (tx) => {
            // Still this conversation, in the transaction: a later one of the same room must
            // not receive a message meant for this one.
            await activeConversation(tx, projectId, conversationId);
            return sendPanelMessage(tx, input, now);
          });
        } catch (e) {
          // The same --id sent twice at once: acknowledged like a later repeat, as the route does.
          if (!(e instanceof UniqueViolation && e.constraint === 'messages_external')) throw e;
          const winner = await repeatedPanelMessage(store.queries, input);
          if (winner === undefined) throw e;
          sent = winner;
        }
        return { messageId: sent.messageId, conversationId: sent.conversationId };
      });
    },
  },
  {
    name: 'conversations close',
    summary: 'Close the active conversation of a bot and end user (conversation.close)',
    args: ['projectId'],
    usage: '--bot <botId> --user <userId> [--redirect-text <text> | --redirect-edge <step>]',
    options: {
      bot: { type: 'string' },
      user: { type: 'string' },
      'redirect-text': { type: 'string' },
      'redirect-edge': { type: 'string' },
    },
    required: ['bot', 'user'],
    optionHelp: [
      ['--bot <botId>', 'the bot of the conversation'],
      ['--user <userId>', 'the end user of the conversation'],
      ['--redirect-text <text>', 'a last message to the end user'],
      ['--redirect-edge <step>', "the step of the bot's flow where it resumes"],
    ],
    details:
      'The room goes back to the bot, as POST external-support/{projectId}/conversations/close does\n' +
      '(docs/api.md §4.7). Prints { conversationId, botId, userId, status }.',
    run: (ctx, a) => {
      const text = checkedText('redirectPayload.text', str(a, 'redirect-text'));
      const edge = checkedText('redirectPayload.text', str(a, 'redirect-edge'));
      if (text !== undefined && edge !== undefined) {
        throw validationError({ redirectPayload: ['give --redirect-text or --redirect-edge, not both'] });
      }
      const redirectPayload =
        text !== undefined
          ? { type: 'text' as const, text }
          : edge !== undefined
            ? { type: 'edge' as const, text: edge }
            : undefined;
      return withProject(ctx, arg(a, 0), async (store) => {
        const { conversation } = await store.transaction((tx) =>
          closeConversation(tx, {
            projectId: arg(a, 0),
            botId: str(a, 'bot') ?? '',
            userId: str(a, 'user') ?? '',
            redirectPayload,
            now: Date.now(),
          }),
        );
        return summary(conversation);
      });
    },
  },
];
