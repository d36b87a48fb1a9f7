/**
 * Renaming and deleting projects, bots and end users. Deletion is soft: the row stays, marked
 * with the time, so past conversations, transcripts and the delivery log keep the names they
 * had; every live lookup (start, channels, the admin lists) stops finding it. What a deletion
 * does to conversations, events, credentials and the integration is in docs/decisions.md
 * ("Deleting projects, bots and end users"). Functions take the transaction; the caller owns
 * its boundary.
 */
import { ApiError } from '../../errors.js';
import type { Bot, EndUser, Project } from '../../model/types.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { ConversationFilter, EndUserPatch, Tx } from '../../storage/store.js';
import { closeConversation } from '../conversations/close.js';
import { deleteIntegration } from '../integrations/integration.service.js';
import { requireProject } from './project.service.js';

/** Active conversations are closed a page at a time (the conversation list's own maximum). */
const CLOSE_BATCH = 200;

export interface Deletion {
  /** Close the active conversations first; without it, any active conversation refuses (409). */
  readonly force: boolean;
  readonly now: number;
}

export interface Deleted {
  readonly deletedAt: number;
  /** Active conversations the deletion closed (each with its conversation.close event). */
  readonly closedConversations: number;
}

export interface ProjectDeleted extends Deleted {
  /** The credentials revoked, for the serving node's cache to forget at once. */
  readonly revokedCredentialIds: readonly string[];
  /** Undelivered events of the panel cancelled with the integration (docs/api.md §4.4). */
  readonly cancelledEvents: number;
  readonly integrationDeleted: boolean;
}

function botNotFound(botId: string): ApiError {
  return new ApiError('bot_not_found', `No bot with id ${JSON.stringify(botId)} exists in this project.`);
}

function userNotFound(userId: string): ApiError {
  return new ApiError(
    'user_not_found',
    `No end user with id ${JSON.stringify(userId)} exists in this project.`,
  );
}

/** The refusal of a deletion without `force` while conversations are active. */
async function refuseIfActive(tx: Tx, projectId: string, filter: ConversationFilter, what: string) {
  const [first] = (await tx.conversations.list(projectId, { ...filter, state: 'active' }, { limit: 1 }))
    .items;
  if (first === undefined) return;
  throw new ApiError(
    'active_conversations',
    `${what} has active conversations (${first.id} among them); close them, or delete with force to close them first.`,
    {},
    {
      developerExtra: {
        en: `Active conversation: ${first.id}.`,
        es: `Conversación activa: ${first.id}.`,
        pt: `Conversa ativa: ${first.id}.`,
      },
    },
  );
}

/**
 * Closes every active conversation the filter selects, as the panel's close would (docs/api.md
 * §4.7: the conversation.close event, reason closed_by_operator), after the bot or user was
 * marked deleted, so that no welcome-back follows. Returns how many.
 */
async function closeActive(
  tx: Tx,
  projectId: string,
  filter: ConversationFilter,
  now: number,
): Promise<number> {
  let closed = 0;
  for (;;) {
    // Always the first page: each close takes its conversation out of the active ones.
    const page = await tx.conversations.list(
      projectId,
      { ...filter, state: 'active' },
      { limit: CLOSE_BATCH },
    );
    if (page.items.length === 0) return closed;
    for (const c of page.items) {
      await closeConversation(tx, { projectId, botId: c.botId, userId: c.userId, now });
      closed++;
    }
  }
}

export async function renameProject(tx: Tx, projectId: string, name: string): Promise<Project> {
  await requireProject(tx, projectId);
  await tx.projects.rename(projectId, name);
  return requireProject(tx, projectId);
}

/**
 * The project goes, with everything that acts for it: its bots and end users (deleted too, so
 * its channels stop taking messages), its credentials (revoked) and its integration (deleted,
 * its undelivered events cancelled as docs/api.md §4.4 says, the close events of this deletion
 * included).
 */
export async function deleteProject(tx: Tx, projectId: string, d: Deletion): Promise<ProjectDeleted> {
  await requireProject(tx, projectId);
  if (!d.force) await refuseIfActive(tx, projectId, {}, 'The project');
  await tx.projects.softDelete(projectId, d.now);
  const closedConversations = await closeActive(tx, projectId, {}, d.now);
  const revokedCredentialIds = await tx.credentials.revokeAllOfProject(projectId, d.now);
  const integrationDeleted = await tx.integrations.exists(projectId);
  const cancelledEvents = integrationDeleted ? (await deleteIntegration(tx, projectId)).cancelledEvents : 0;
  return { deletedAt: d.now, closedConversations, revokedCredentialIds, cancelledEvents, integrationDeleted };
}

export async function renameBot(tx: Tx, projectId: string, botId: string, name: string): Promise<Bot> {
  await requireProject(tx, projectId);
  const bot = await tx.bots.rename(projectId, botId, name);
  if (bot === undefined) throw botNotFound(botId);
  return bot;
}

/** The bot goes; events already queued (for the panel or its channel) are still delivered. */
export async function deleteBot(tx: Tx, projectId: string, botId: string, d: Deletion): Promise<Deleted> {
  await requireProject(tx, projectId);
  if ((await tx.bots.get(projectId, botId)) === undefined) throw botNotFound(botId);
  if (!d.force) await refuseIfActive(tx, projectId, { botId }, 'The bot');
  await tx.bots.softDelete(projectId, botId, d.now);
  return { deletedAt: d.now, closedConversations: await closeActive(tx, projectId, { botId }, d.now) };
}

export async function updateEndUser(
  tx: Tx,
  projectId: string,
  userId: string,
  patch: EndUserPatch,
): Promise<EndUser> {
  await requireProject(tx, projectId);
  let user: EndUser | undefined;
  try {
    user = await tx.endUsers.update(projectId, userId, patch);
  } catch (e) {
    if (e instanceof UniqueViolation && e.constraint === 'end_users_reference') {
      throw new ApiError(
        'reference_id_taken',
        `Another end user of this project already has referenceId ${JSON.stringify(patch.referenceId)}.`,
      );
    }
    throw e;
  }
  if (user === undefined) throw userNotFound(userId);
  return user;
}

/**
 * The end user goes; their referenceId is free again (a person who writes again through a
 * channel becomes a new end user). Events already queued are still delivered.
 */
export async function deleteEndUser(
  tx: Tx,
  projectId: string,
  userId: string,
  d: Deletion,
): Promise<Deleted> {
  await requireProject(tx, projectId);
  if ((await tx.endUsers.get(projectId, userId)) === undefined) throw userNotFound(userId);
  if (!d.force) await refuseIfActive(tx, projectId, { userId }, 'The end user');
  await tx.endUsers.softDelete(projectId, userId, d.now);
  return { deletedAt: d.now, closedConversations: await closeActive(tx, projectId, { userId }, d.now) };
}
