/**
 * The queries by aggregate, and the two ways to hold them: `Queries` (reads, and single-statement
 * writes outside any transaction) and `Tx` (everything, inside a transaction). Only `Tx` can
 * write events and messages, and only the stores' transaction functions make a `Tx` (its brand is
 * not exported), so "events are written only inside a transaction" is checked by the compiler.
 */
import type { SecretBox } from '../secret-box.js';
import type { TxRecord } from '../tx-record.js';
import { AdminTokenQueries } from './admin-token.js';
import { BotQueries } from './bots.js';
import { ConversationQueries } from './conversations.js';
import { CredentialQueries } from './credentials.js';
import { DeliveryLogQueries } from './delivery-log.js';
import { EndUserQueries } from './end-users.js';
import type { SqlExecutor } from './executor.js';
import { IdempotencyQueries } from './idempotency.js';
import { IntegrationQueries } from './integrations.js';
import { MessageQueries, MessageTxQueries } from './messages.js';
import { OperationsQueries } from './operations.js';
import { OutboxQueries, OutboxTxQueries } from './outbox.js';
import { ProjectStatsQueries } from './project-stats.js';
import { ProjectQueries } from './projects.js';
import { RoomQueries } from './rooms.js';
import { WhatsappQueries } from './whatsapp.js';

export interface Queries {
  readonly projects: ProjectQueries;
  readonly credentials: CredentialQueries;
  readonly bots: BotQueries;
  readonly endUsers: EndUserQueries;
  readonly integrations: IntegrationQueries;
  readonly rooms: RoomQueries;
  readonly conversations: ConversationQueries;
  readonly messages: MessageQueries;
  readonly outbox: OutboxQueries;
  readonly deliveryLog: DeliveryLogQueries;
  readonly idempotency: IdempotencyQueries;
  readonly adminToken: AdminTokenQueries;
  readonly projectStats: ProjectStatsQueries;
  readonly whatsapp: WhatsappQueries;
  readonly operations: OperationsQueries;
}

declare const txBrand: unique symbol;

/** The queries of one transaction; see the file comment. */
export interface Tx extends Queries {
  readonly [txBrand]: true;
  readonly messages: MessageTxQueries;
  readonly outbox: OutboxTxQueries;
}

function build(x: SqlExecutor, box: SecretBox, written: TxRecord | undefined): Queries | Tx {
  const rooms = new RoomQueries(x);
  const integrations = new IntegrationQueries(x, box);
  const outbox = written ? new OutboxTxQueries(x, rooms, written) : new OutboxQueries(x);
  return {
    projects: new ProjectQueries(x),
    credentials: new CredentialQueries(x),
    bots: new BotQueries(x, box),
    endUsers: new EndUserQueries(x),
    integrations,
    rooms,
    conversations: new ConversationQueries(x),
    messages: written ? new MessageTxQueries(x, written) : new MessageQueries(x),
    outbox,
    deliveryLog: new DeliveryLogQueries(x, outbox, integrations),
    idempotency: new IdempotencyQueries(x, box),
    adminToken: new AdminTokenQueries(x),
    projectStats: new ProjectStatsQueries(x),
    whatsapp: new WhatsappQueries(x),
    operations: new OperationsQueries(x),
  };
}

/** Queries outside any transaction: they cannot write events or messages. */
export function createQueries(x: SqlExecutor, box: SecretBox): Queries {
  return build(x, box, undefined);
}

/** For the stores' transaction functions only: `x` must be inside a transaction. */
export function createTx(x: SqlExecutor, box: SecretBox, written: TxRecord): Tx {
  return build(x, box, written) as Tx;
}
