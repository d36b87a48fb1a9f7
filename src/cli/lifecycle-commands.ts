/**
 * `relevo projects rename|delete`, `bots rename|delete`, `users update|delete`: the admin API's
 * PATCH and DELETE operations (lifecycleOps), on the database directly. What a deletion does is
 * in docs/decisions.md ("Deleting projects, bots and end users").
 */
import { type LifecycleContext, lifecycleOps } from '../admin/lifecycle-operations.js';
import { NAME_MAX, REFERENCE_ID_MAX } from '../admin/limits.js';
import { validationError } from '../errors.js';
import type { Store } from '../storage/store.js';
import { optionString, withStore } from './cli-store.js';
import type { Command, ParsedArgs } from './command.js';
import type { CliContext } from './context.js';

const str = optionString;
const arg = (args: ParsedArgs, i: number): string => args.positionals[i] ?? '';
const force = (args: ParsedArgs): boolean => args.values.force === true;

/** No credential cache to tell here: a running server reads a revoked credential again within 1 s. */
const withOps = (ctx: CliContext, fn: (ops: LifecycleContext) => Promise<unknown>) =>
  withStore(ctx, (store: Store) => fn({ store, clock: Date.now }));

const FORCE_OPTION = { force: { type: 'boolean' } } as const;
const FORCE_HELP = [
  '--force',
  'close the active conversations first, each with its conversation.close event; without it, any active conversation refuses the deletion (active_conversations)',
] as const;

export const LIFECYCLE_COMMANDS: readonly Command[] = [
  {
    name: 'projects rename',
    summary: 'Rename a project',
    args: ['projectId'],
    usage: '--name <name>',
    options: { name: { type: 'string' } },
    required: ['name'],
    optionHelp: [['--name <name>', `1 to ${NAME_MAX} characters`]],
    run: (ctx, a) => withOps(ctx, (ops) => lifecycleOps.renameProject(ops, arg(a, 0), str(a, 'name') ?? '')),
  },
  {
    name: 'projects delete',
    summary: 'Delete a project: its bots, end users, credentials and integration go with it',
    args: ['projectId'],
    usage: '[--force]',
    options: FORCE_OPTION,
    optionHelp: [FORCE_HELP],
    details:
      'Soft deletion, final: the project, its bots and its end users are no longer found, its\n' +
      'credentials are revoked, and its integration is deleted with its undelivered events\n' +
      'cancelled. Conversations, messages and the delivery log stay in the database. Prints\n' +
      '{ id, deleted, deletedAt, closedConversations, revokedCredentials, integrationDeleted,\n' +
      'cancelledEvents }.',
    run: (ctx, a) => withOps(ctx, (ops) => lifecycleOps.deleteProject(ops, arg(a, 0), force(a))),
  },
  {
    name: 'bots rename',
    summary: 'Rename a bot (later events carry the new name)',
    args: ['projectId', 'botId'],
    usage: '--name <name>',
    options: { name: { type: 'string' } },
    required: ['name'],
    optionHelp: [['--name <name>', `1 to ${NAME_MAX} characters`]],
    run: (ctx, a) =>
      withOps(ctx, (ops) => lifecycleOps.renameBot(ops, arg(a, 0), arg(a, 1), str(a, 'name') ?? '')),
  },
  {
    name: 'bots delete',
    summary: 'Delete a bot; its past conversations keep its name',
    args: ['projectId', 'botId'],
    usage: '[--force]',
    options: FORCE_OPTION,
    optionHelp: [FORCE_HELP],
    details:
      'Soft deletion: the bot is no longer found (starts, its channel and the admin commands say\n' +
      'bot_not_found); events already queued are still delivered. Prints { id, deleted,\n' +
      'deletedAt, closedConversations }.',
    run: (ctx, a) => withOps(ctx, (ops) => lifecycleOps.deleteBot(ops, arg(a, 0), arg(a, 1), force(a))),
  },
  {
    name: 'users update',
    summary: "Change an end user's names or referenceId",
    args: ['projectId', 'userId'],
    usage: '[--names <names>] [--reference-id <id> | --clear-reference-id]',
    options: {
      names: { type: 'string' },
      'reference-id': { type: 'string' },
      'clear-reference-id': { type: 'boolean' },
    },
    optionHelp: [
      ['--names <names>', `1 to ${NAME_MAX} characters; later events show it as contact.name`],
      ['--reference-id <id>', `1 to ${REFERENCE_ID_MAX} characters; unique among the project's end users`],
      ['--clear-reference-id', 'remove the referenceId'],
    ],
    run: (ctx, a) => {
      const clear = a.values['clear-reference-id'] === true;
      if (clear && str(a, 'reference-id') !== undefined) {
        throw validationError({ referenceId: ['give --reference-id or --clear-reference-id, not both'] });
      }
      const changes = { names: str(a, 'names'), referenceId: clear ? null : str(a, 'reference-id') };
      return withOps(ctx, (ops) => lifecycleOps.updateEndUser(ops, arg(a, 0), arg(a, 1), changes));
    },
  },
  {
    name: 'users delete',
    summary: 'Delete an end user; their past conversations keep their names',
    args: ['projectId', 'userId'],
    usage: '[--force]',
    options: FORCE_OPTION,
    optionHelp: [FORCE_HELP],
    details:
      'Soft deletion: the end user is no longer found, their web chat sessions end, and their\n' +
      'referenceId is free again. Events already queued are still delivered. Prints { id,\n' +
      'deleted, deletedAt, closedConversations }.',
    run: (ctx, a) => withOps(ctx, (ops) => lifecycleOps.deleteEndUser(ops, arg(a, 0), arg(a, 1), force(a))),
  },
];
