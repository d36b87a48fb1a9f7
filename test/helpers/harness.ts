/**
 * Test harness: a fresh SQLite file per harness, the app built in-process (no port), and a
 * seeded project with a credential, a bot and an end user.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type App, buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type DeliveryWorker, startDeliveryWorker } from '../../src/delivery/delivery-worker.js';
import { createBot, createEndUser, createProject } from '../../src/domain/projects/project.service.js';
import type { Bot, EndUser, Project } from '../../src/model/types.js';
import { SecretBox } from '../../src/storage/secret-box.js';
import type { Store } from '../../src/storage/store.js';
import { type Receiver, startReceiver } from './receiver.js';
import { createTestDatabase } from './test-database.js';

export interface Seed {
  readonly project: Project;
  readonly apiKey: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly credentialId: string;
  readonly bot: Bot;
  readonly user: EndUser;
}

export interface Harness {
  readonly app: App;
  readonly store: Store;
  readonly config: Config;
  readonly dir: string;
  /** Present when the harness was created with `{ worker: true }`. */
  readonly worker: DeliveryWorker | undefined;
  seed(name?: string): Promise<Seed>;
  close(): Promise<void>;
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface HarnessOptions {
  /** Run the delivery worker in-process, as `relevo serve` does with RELEVO_ROLE=all. */
  readonly worker?: boolean;
  /** The worker's ready queue size (default: the product's). */
  readonly readyQueue?: { readonly capacity: number; readonly maxChars: number };
  /** The logger of the app and the worker (e.g. one writing into a buffer); silent by default. */
  readonly logger?: pino.Logger;
  /** The store as the worker sees it (e.g. one whose records wait for the test); the real one by default. */
  readonly workerStore?: (store: Store) => Store;
}

export async function createHarness(
  env: NodeJS.ProcessEnv = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'relevo-test-'));
  const key = env.RELEVO_ENCRYPTION_KEY
    ? loadConfig({ RELEVO_ENCRYPTION_KEY: env.RELEVO_ENCRYPTION_KEY }).encryptionKey
    : undefined;
  const db = await createTestDatabase(dir, key ? new SecretBox(key) : undefined);
  const config = loadConfig({
    DATABASE_URL: db.url,
    RELEVO_ADMIN_TOKEN: ADMIN_TOKEN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8,::1',
    LOG_LEVEL: 'silent',
    // Every injected request comes from one address and many tests fail authentication on
    // purpose: the throttle (20 failures a minute) would turn their 401s into 429s. The tests of
    // the throttle turn it on.
    RELEVO_AUTH_FAILURE_LIMIT: '0',
    // Likewise, tests open many web chat sessions from that one address; the tests of the
    // session limit set their own.
    RELEVO_WEBCHAT_SESSION_RATE: '9999999/s',
    ...env,
  });
  const store = db.store;
  const app = await buildApp({
    config,
    store,
    logger: options.logger ?? pino({ level: process.env.RELEVO_TEST_LOG ?? 'silent' }),
  });
  await app.server.ready();
  const log = options.logger ?? pino({ level: process.env.RELEVO_TEST_LOG ?? 'silent' });
  const worker = options.worker
    ? await startDeliveryWorker({
        config,
        store: options.workerStore?.(store) ?? store,
        log,
        ...(options.readyQueue ? { readyQueue: options.readyQueue } : {}),
      })
    : undefined;
  return {
    app,
    store,
    config,
    dir,
    worker,
    async seed(name = 'Acme') {
      const now = Date.now();
      return store.transaction(async (tx) => {
        const { project, minted } = await createProject(tx, name, now);
        const bot = await createBot(tx, project.id, 'Helper Bot', 'webchat', now);
        const user = await createEndUser(tx, project.id, 'Maria Silva', null, now);
        return {
          project,
          apiKey: minted.apiKey,
          clientId: minted.credential.clientId,
          clientSecret: minted.clientSecret,
          credentialId: minted.credential.id,
          bot,
          user,
        };
      });
    },
    async close() {
      await worker?.stop(1_000);
      await app.server.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TwoProjects {
  readonly h: Harness;
  /** The project under test, 'Acme'. */
  readonly s: Seed;
  /** Another project, 'Other', whose credentials and data must not reach or be reached by `s`. */
  readonly other: Seed;
}

/** A harness with two seeded projects, for the tests that keep one project out of the other's way. */
export async function harnessWithTwoProjects(
  env: NodeJS.ProcessEnv = {},
  options: HarnessOptions = {},
): Promise<TwoProjects> {
  const h = await createHarness(env, options);
  const s = await h.seed('Acme');
  const other = await h.seed('Other');
  return { h, s, other };
}

export interface ChannelRig extends TwoProjects {
  /** The panel's webhook receiver. */
  readonly panel: Receiver;
  /** The receiver of the bots' http channel. */
  readonly channel: Receiver;
  close(): Promise<void>;
}

/**
 * The http channel's set-up: two projects on a harness whose worker retries fast (0, 30 ms,
 * 30 ms), a receiver standing for the panel and one for the channel's bot.
 */
export async function harnessWithChannel(): Promise<ChannelRig> {
  const panel = await startReceiver();
  const channel = await startReceiver();
  const two = await harnessWithTwoProjects(
    { RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,30ms,30ms' },
    { worker: true },
  );
  return {
    ...two,
    panel,
    channel,
    async close() {
      await two.h.close();
      await panel.close();
      await channel.close();
    },
  };
}

export function basic(seed: Pick<Seed, 'clientId' | 'clientSecret'>): string {
  return `Basic ${Buffer.from(`${seed.clientId}:${seed.clientSecret}`).toString('base64')}`;
}
