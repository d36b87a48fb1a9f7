/**
 * Rename and delete, as the admin API (`PATCH`/`DELETE /admin/v1/projects/…`) and the `relevo`
 * command both run them: one place checks the input, opens the transaction and shapes the
 * answer, so the HTTP body and the CLI's JSON cannot drift.
 */
import type { CredentialCache } from '../auth/credential-cache.js';
import {
  deleteBot,
  deleteEndUser,
  deleteProject,
  renameBot,
  renameProject,
  updateEndUser,
} from '../domain/projects/lifecycle.service.js';
import { validationError } from '../errors.js';
import type { Store } from '../storage/store.js';
import { NAME_MAX, REFERENCE_ID_MAX } from './limits.js';
import type { BotView, EndUserView, ProjectSummaryView } from './schemas.js';
import { botView, checkText, endUserView, projectSummaryView } from './views.js';

export interface LifecycleContext {
  readonly store: Store;
  readonly clock: () => number;
  /** The serving node's credential cache, told of revocations (absent in the CLI). */
  readonly credentials?: Pick<CredentialCache, 'forget'> | undefined;
}

/** Stripe's shape for a deletion: the id, `deleted: true`, and what went with it. */
export interface DeletedView {
  readonly id: string;
  readonly deleted: true;
  readonly deletedAt: string;
  readonly closedConversations: number;
}
export interface ProjectDeletedView extends DeletedView {
  readonly revokedCredentials: number;
  readonly integrationDeleted: boolean;
  readonly cancelledEvents: number;
}

export interface EndUserChanges {
  readonly names?: string | undefined;
  /** null clears it. */
  readonly referenceId?: string | null | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export const lifecycleOps = {
  async renameProject(ctx: LifecycleContext, projectId: string, name: string): Promise<ProjectSummaryView> {
    checkText('name', name, NAME_MAX);
    return projectSummaryView(await ctx.store.transaction((tx) => renameProject(tx, projectId, name)));
  },

  async deleteProject(ctx: LifecycleContext, projectId: string, force: boolean): Promise<ProjectDeletedView> {
    const now = ctx.clock();
    const done = await ctx.store.transaction((tx) => deleteProject(tx, projectId, { force, now }));
    for (const id of done.revokedCredentialIds) ctx.credentials?.forget(id);
    return {
      id: projectId,
      deleted: true,
      deletedAt: iso(done.deletedAt),
      closedConversations: done.closedConversations,
      revokedCredentials: done.revokedCredentialIds.length,
      integrationDeleted: done.integrationDeleted,
      cancelledEvents: done.cancelledEvents,
    };
  },

  async renameBot(ctx: LifecycleContext, projectId: string, botId: string, name: string): Promise<BotView> {
    checkText('name', name, NAME_MAX);
    return botView(await ctx.store.transaction((tx) => renameBot(tx, projectId, botId, name)));
  },

  async deleteBot(
    ctx: LifecycleContext,
    projectId: string,
    botId: string,
    force: boolean,
  ): Promise<DeletedView> {
    const now = ctx.clock();
    const done = await ctx.store.transaction((tx) => deleteBot(tx, projectId, botId, { force, now }));
    return {
      id: botId,
      deleted: true,
      deletedAt: iso(done.deletedAt),
      closedConversations: done.closedConversations,
    };
  },

  async updateEndUser(
    ctx: LifecycleContext,
    projectId: string,
    userId: string,
    changes: EndUserChanges,
  ): Promise<EndUserView> {
    if (changes.names === undefined && changes.referenceId === undefined) {
      throw validationError({ body: ['must contain at least one of names, referenceId'] });
    }
    if (changes.names !== undefined) checkText('names', changes.names, NAME_MAX);
    if (typeof changes.referenceId === 'string')
      checkText('referenceId', changes.referenceId, REFERENCE_ID_MAX);
    const patch = { names: changes.names, referenceId: changes.referenceId };
    return endUserView(await ctx.store.transaction((tx) => updateEndUser(tx, projectId, userId, patch)));
  },

  async deleteEndUser(
    ctx: LifecycleContext,
    projectId: string,
    userId: string,
    force: boolean,
  ): Promise<DeletedView> {
    const now = ctx.clock();
    const done = await ctx.store.transaction((tx) => deleteEndUser(tx, projectId, userId, { force, now }));
    return {
      id: userId,
      deleted: true,
      deletedAt: iso(done.deletedAt),
      closedConversations: done.closedConversations,
    };
  },
};
