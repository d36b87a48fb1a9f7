/**
 * One numbered list of migrations for every database. Migrations are immutable once released:
 * change the schema by appending a new one. Statements are written in the SQL that SQLite and
 * PostgreSQL share (TEXT, BIGINT, INTEGER, partial indexes); where they differ a statement gives
 * one text per dialect. Times are BIGINT Unix milliseconds; JSON is TEXT.
 */

import { m0001Initial } from './0001-initial.js';
import { m0002Delivery } from './0002-delivery.js';
import { m0003Channels } from './0003-channels.js';
import { m0004Idempotency } from './0004-idempotency.js';
import { m0005IdempotencyHolder } from './0005-idempotency-holder.js';
import { m0006IntegrationDisabledAt } from './0006-integration-disabled-at.js';
import { m0007SoftDelete } from './0007-soft-delete.js';
import { m0008AdminToken } from './0008-admin-token.js';
import { m0009NamesAsJson } from './0009-names-as-json.js';
import { m0010WebchatSessionSweep } from './0010-webchat-session-sweep.js';
import { m0011BotEngines } from './0011-bot-engines.js';
import { m0012ProjectOverview } from './0012-project-overview.js';
import { m0013Whatsapp } from './0013-whatsapp.js';
import { m0014EventOrigin } from './0014-event-origin.js';
import { m0015EventsFillfactor } from './0015-events-fillfactor.js';
import { m0016EventsRoomOrder } from './0016-events-room-order.js';
import { m0017ConversationsOneActive } from './0017-conversations-one-active.js';
import type { Migration } from './migration.js';

export type { Dialect, Migration, Statement } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [
  m0001Initial,
  m0002Delivery,
  m0003Channels,
  m0004Idempotency,
  m0005IdempotencyHolder,
  m0006IntegrationDisabledAt,
  m0007SoftDelete,
  m0008AdminToken,
  m0009NamesAsJson,
  m0010WebchatSessionSweep,
  m0011BotEngines,
  m0012ProjectOverview,
  m0013Whatsapp,
  m0014EventOrigin,
  m0015EventsFillfactor,
  m0016EventsRoomOrder,
  m0017ConversationsOneActive,
];

export { statementFor } from './migration.js';
