/**
 * `relevo deliveries …`: the delivery log from the command line (docs/api.md §5.5), acting on the
 * database directly with the same operations as the HTTP routes. A retry or replay written
 * here is picked up by the running server's worker within its safety poll (1 s) on SQLite, and
 * at once on PostgreSQL (NOTIFY).
 */

import {
  DELIVERY_PAGE_DEFAULT,
  DELIVERY_PAGE_MAX,
  getDelivery,
  listDeliveries,
  parseDeliveryQuery,
  parseDestination,
  parseSince,
  replayDeliveries,
  retryDelivery,
} from '../domain/deliveries/delivery.service.js';
import { DELIVERY_STATUSES, EVENT_TYPES } from '../model/delivery-views.js';
import { optionString, withProject } from './cli-store.js';
import type { Command } from './command.js';

const str = optionString;

export const DELIVERY_COMMANDS: readonly Command[] = [
  {
    name: 'deliveries list',
    summary: "List a project's deliveries to its webhook, newest first",
    args: ['projectId'],
    usage:
      '[--destination panel|bot] [--status <s>] [--event-type <t>] [--conversation <id>] [--limit <n>] [--cursor <c>]',
    options: {
      destination: { type: 'string' },
      status: { type: 'string' },
      'event-type': { type: 'string' },
      conversation: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    optionHelp: [
      ['--destination <d>', "panel (default) or bot: the bots' outside engines"],
      ['--status <s>', DELIVERY_STATUSES.join(', ')],
      ['--event-type <t>', EVENT_TYPES.join(', ')],
      ['--conversation <id>', 'only the events of this conversation'],
      ['--limit <n>', `items per page, 1 to ${DELIVERY_PAGE_MAX} (default ${DELIVERY_PAGE_DEFAULT})`],
      ['--cursor <c>', 'the nextCursor of the previous page'],
    ],
    run: (ctx, a) =>
      withProject(ctx, a.positionals[0] ?? '', (store) => {
        const { filter, page } = parseDeliveryQuery({
          destination: str(a, 'destination'),
          status: str(a, 'status'),
          eventType: str(a, 'event-type'),
          conversationId: str(a, 'conversation'),
          limit: str(a, 'limit'),
          cursor: str(a, 'cursor'),
        });
        return listDeliveries(store.queries, a.positionals[0] ?? '', filter, page);
      }),
  },
  {
    name: 'deliveries show',
    summary: 'Show one delivery (its id is the webhook-id) with every attempt',
    args: ['projectId', 'deliveryId'],
    usage: '',
    options: {},
    run: (ctx, a) =>
      withProject(ctx, a.positionals[0] ?? '', (store) =>
        getDelivery(store.queries, a.positionals[0] ?? '', a.positionals[1] ?? ''),
      ),
  },
  {
    name: 'deliveries retry',
    summary: 'Send one delivery again now, with its original id and payload',
    args: ['projectId', 'deliveryId'],
    usage: '',
    options: {},
    run: (ctx, a) =>
      withProject(ctx, a.positionals[0] ?? '', (store) =>
        store.transaction((tx) =>
          retryDelivery(tx, a.positionals[0] ?? '', a.positionals[1] ?? '', Date.now()),
        ),
      ),
  },
  {
    name: 'deliveries replay',
    summary: 'Send again every event of a project (or of one conversation) since a time',
    args: ['projectId'],
    usage: '--since <ISO-8601 time> [--conversation <id>] [--destination panel|bot]',
    options: { since: { type: 'string' }, conversation: { type: 'string' }, destination: { type: 'string' } },
    required: ['since'],
    optionHelp: [
      ['--since <time>', 'e.g. 2026-01-15T10:30:00Z (inclusive)'],
      ['--conversation <id>', 'only the events of this conversation'],
      ['--destination <d>', "panel (default) or bot: the bots' outside engines"],
    ],
    run: (ctx, a) =>
      withProject(ctx, a.positionals[0] ?? '', async (store) => {
        const now = Date.now();
        const since = parseSince(str(a, 'since') ?? '', now);
        const destination = parseDestination(str(a, 'destination'));
        // One transaction: nothing to count until it commits, so the line says what runs.
        ctx.progress(`replaying the events since ${new Date(since).toISOString()}…`);
        try {
          return await store.transaction((tx) =>
            replayDeliveries(
              tx,
              a.positionals[0] ?? '',
              { since, conversationId: str(a, 'conversation'), destination },
              now,
            ),
          );
        } finally {
          ctx.progress(undefined);
        }
      }),
  },
];
