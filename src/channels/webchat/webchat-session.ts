/**
 * Web chat sessions. A visitor is an end user whose referenceId is `webchat:<sha256 of the
 * session token>`: the token itself (32 random bytes) lives only in the visitor's browser, so a
 * copy of the database lets nobody impersonate a visitor, and finding the session is the same
 * indexed, project-scoped lookup any referenceId gets. The token is compared through its hash,
 * so the lookup's timing says nothing useful about the secret.
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../../errors.js';
import { randomToken } from '../../model/ids.js';
import type { Bot, EndUser, Room } from '../../model/types.js';
import type { Queries } from '../../storage/store.js';

const TOKEN_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const REFERENCE_PREFIX = 'webchat:';

export function newSessionToken(): string {
  return randomToken(TOKEN_BYTES);
}

export function sessionReference(token: string): string {
  return `${REFERENCE_PREFIX}${createHash('sha256').update(token).digest('hex')}`;
}

export function unauthorizedSession(): ApiError {
  return new ApiError(
    'unauthorized',
    'Send the web chat session token: Authorization: Bearer <sessionToken> (the stream takes it as ?token=).',
    {},
    {
      developerExtra: {
        en: 'Web chat: send Authorization: Bearer <sessionToken> from POST /webchat/{botId}/sessions.',
        es: 'Web chat: envía Authorization: Bearer <sessionToken> obtenido con POST /webchat/{botId}/sessions.',
        pt: 'Web chat: envie Authorization: Bearer <sessionToken> obtido com POST /webchat/{botId}/sessions.',
      },
    },
  );
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m?.[1];
}

export interface Session {
  readonly user: EndUser;
  readonly room: Room;
}

/**
 * The visitor behind a token, with the room they may read. A token of another bot's chat (same
 * project) finds the user but no room with this bot, and is refused like an unknown one.
 */
export async function sessionOf(q: Queries, bot: Bot, token: string | undefined): Promise<Session> {
  if (token === undefined || !TOKEN_SHAPE.test(token)) throw unauthorizedSession();
  const user = await q.endUsers.getByReference(bot.projectId, sessionReference(token));
  const room = user === undefined ? undefined : await q.rooms.getByPair(bot.id, user.id);
  if (user === undefined || room === undefined) throw unauthorizedSession();
  return { user, room };
}

/** A bot that serves the web chat, or 404 `bot_not_found` (also for a bot of another channel). */
export async function webchatBot(q: Queries, botId: string): Promise<Bot> {
  const bot = await q.bots.getById(botId);
  if (bot === undefined || bot.channel !== 'webchat') {
    throw new ApiError('bot_not_found', `No web chat bot with id ${JSON.stringify(botId)} exists.`);
  }
  return bot;
}
