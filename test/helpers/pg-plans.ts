/**
 * Reading PostgreSQL's plans of the statements relevo sends: what a query method would send (its
 * text and parameters, captured without running them), and the generic plan of one such
 * statement, the plan a named statement settles on whatever its parameters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { numberPlaceholders, POSTGRES_SQL } from '../../src/storage/postgres/postgres-executor.js';
import type { SqlExecutor } from '../../src/storage/queries/executor.js';
import { createTx } from '../../src/storage/queries/index.js';
import { PLAINTEXT } from '../../src/storage/secret-box.js';
import { newTxRecord } from '../../src/storage/tx-record.js';
import { createTestDatabase } from './test-database.js';

export type PlanTx = ReturnType<typeof createTx>;

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/** The statements a query method sends on PostgreSQL, with their parameters, without running them. */
export async function statementsOf(
  use: (tx: PlanTx) => Promise<unknown>,
): Promise<Array<{ sql: string; params: unknown[] }>> {
  const sent: Array<{ sql: string; params: unknown[] }> = [];
  const record = async (sql: string, ...params: unknown[]) => {
    sent.push({ sql, params });
    return undefined;
  };
  const x: SqlExecutor = {
    dialect: 'postgres',
    dialectSql: POSTGRES_SQL,
    run: async (sql, ...params) => (await record(sql, ...params)) ?? 0,
    send: async (sql, ...params) => void (await record(sql, ...params)),
    guardedRun: async (sql, ...params) => (await record(sql, ...params)) ?? 0,
    one: async (sql, ...params) => record(sql, ...params),
    tuple: async (sql, ...params) => record(sql, ...params),
    all: async (sql, ...params) => (await record(sql, ...params)) ?? [],
  };
  await use(createTx(x, PLAINTEXT, newTxRecord(undefined)));
  return sent;
}

/** Every node of a plan that reads a table (the table written by an UPDATE or INSERT left out). */
export const scansOf = (n: PlanNode): PlanNode[] => [
  ...(n['Relation Name'] === undefined || n['Node Type'] === 'ModifyTable' ? [] : [n]),
  ...(n.Plans ?? []).flatMap(scansOf),
];

let prepared = 0;
/**
 * The generic plan of `sql` (`?` placeholders) on `c`, as EXPLAIN shows it for an execution with
 * `params`. Sets `plan_cache_mode = force_generic_plan` on the connection.
 */
export async function genericPlan(c: pg.Client, sql: string, params: readonly unknown[]): Promise<PlanNode> {
  await c.query('SET plan_cache_mode = force_generic_plan');
  const name = `plan_${++prepared}`;
  await c.query(`PREPARE ${name} AS ${numberPlaceholders(sql)}`);
  const literal = (v: unknown) =>
    v === null || v === undefined
      ? 'NULL'
      : typeof v === 'string'
        ? `'${v.replaceAll("'", "''")}'`
        : String(v);
  const r = await c.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${params.map(literal).join(', ')})`);
  await c.query(`DEALLOCATE ${name}`);
  return r.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
}

/**
 * A new migrated database and a client on it that writes rows without their parents
 * (`session_replication_role = replica` skips the foreign keys): only the plans matter.
 */
export async function openPlanDatabase(): Promise<{ c: pg.Client; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'relevo-pg-plans-'));
  const db = await createTestDatabase(dir);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query('SET session_replication_role = replica');
  return {
    c,
    close: async () => {
      await c.end();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
