/**
 * Global setup of the `postgres` test project: one ephemeral cluster for the whole run, and a
 * migrated template database that each test harness clones (CREATE DATABASE … TEMPLATE is a file
 * copy, far faster than migrating every time).
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { type Cluster, startCluster } from './postgres-cluster.js';

export const TEMPLATE_DB = 'relevo_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let cluster: Cluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  cluster = await startCluster();
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const store = new PostgresStore({ url: cluster.urlOf(TEMPLATE_DB), poolSize: 2 });
  await store.migrate();
  await store.close();
  project.provide('pgUrl', cluster.url);
}

export async function teardown(): Promise<void> {
  cluster?.stop();
}
