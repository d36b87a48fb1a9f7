/**
 * The admin API without RELEVO_ADMIN_TOKEN: the token the first start stores (hashed) in the
 * database, created once even when several servers start together, replaced by a reset, and the
 * admin API off on a database that has no token (one from before first-run tokens).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_PREFIX, ensureAdminToken, resetAdminToken } from '../../src/auth/admin-token.js';
import { createProject } from '../../src/domain/projects/project.service.js';
import { ADMIN_TOKEN, createHarness, type Harness } from '../helpers/harness.js';
import { TEST_DB } from '../helpers/test-database.js';

type Json = Record<string, unknown>;

async function admin(h: Harness, token: string | undefined, method: 'GET' | 'POST' = 'GET') {
  const res = await h.app.server.inject({
    method,
    url: '/admin/v1/projects',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    ...(method === 'POST' ? { payload: { name: 'Acme' } } : {}),
  });
  return { status: res.statusCode, body: res.json() as Json };
}

function codeOf(res: { body: Json }): unknown {
  return (res.body.error as Json | undefined)?.code;
}

/** Runs SQL on the harness's database directly, as an older relevo would have left it. */
async function exec(h: Harness, statements: string[]): Promise<void> {
  if (TEST_DB === 'sqlite') {
    const db = new Database(h.config.databaseUrl.slice('sqlite:'.length));
    try {
      for (const s of statements) db.exec(s);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: h.config.databaseUrl });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

describe('the stored admin token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ RELEVO_ADMIN_TOKEN: '' });
  });
  afterAll(async () => h?.close());

  it('is absent on a fresh database: the admin API says it is off, and how to turn it on', async () => {
    expect(await h.store.queries.adminToken.get()).toBeUndefined();
    const res = await admin(h, 'rlva_whatever');
    expect(res.status).toBe(404);
    expect(codeOf(res)).toBe('admin_api_disabled');
    expect((res.body.error as Json).description).toContain('relevo admin-token reset');
  });

  it('is created once by servers starting together, and only its creator sees it', async () => {
    const states = await Promise.all(
      Array.from({ length: 8 }, () => ensureAdminToken(h.store.queries, Date.now())),
    );
    const created = states.filter((s) => s.kind === 'created');
    expect(created).toHaveLength(1);
    expect(states.filter((s) => s.kind === 'exists')).toHaveLength(7);
    const token = (created[0] as { token: string }).token;
    expect(token).toMatch(new RegExp(`^${ADMIN_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`));

    // Stored as a salted hash, never in clear.
    const row = await h.store.queries.adminToken.get();
    expect(row?.hash).toMatch(/^s256\$/);
    expect(row?.hash).not.toContain(token);

    // It opens the admin API; anything else is a 401.
    expect((await admin(h, token, 'POST')).status).toBe(201);
    expect((await admin(h, token)).status).toBe(200);
    for (const wrong of [undefined, `${token.slice(0, -1)}x`, ADMIN_TOKEN, '']) {
      const res = await admin(h, wrong);
      expect(res.status).toBe(401);
      expect(codeOf(res)).toBe('admin_unauthorized');
    }

    // A later start finds it and creates nothing.
    expect(await ensureAdminToken(h.store.queries, Date.now())).toEqual({ kind: 'exists' });
    expect((await h.store.queries.adminToken.get())?.hash).toBe(row?.hash);

    // A reset replaces it: the old token stops working at once, the new one works.
    const fresh = await resetAdminToken(h.store.queries, Date.now());
    expect(fresh).not.toBe(token);
    expect((await admin(h, token)).status).toBe(401);
    expect((await admin(h, fresh)).status).toBe(200);
  });
});

describe('RELEVO_ADMIN_TOKEN beside a stored token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  it('is the only token accepted: the stored one is ignored while it is set', async () => {
    const stored = await resetAdminToken(h.store.queries, Date.now());
    expect((await admin(h, ADMIN_TOKEN)).status).toBe(200);
    const res = await admin(h, stored);
    expect(res.status).toBe(401);
    expect(codeOf(res)).toBe('admin_unauthorized');
  });
});

describe('a database from before first-run tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ RELEVO_ADMIN_TOKEN: '' });
  });
  afterAll(async () => h?.close());

  it('keeps the admin API off after the upgrade, until a reset', async () => {
    // As the previous release left it: projects, and no migration 8.
    await h.store.transaction((tx) => createProject(tx, 'Existing', Date.now()));
    await exec(h, ['DROP TABLE admin_token', 'DELETE FROM schema_migrations WHERE version = 8']);
    expect(await h.store.migrate()).toEqual([8]);

    expect(await h.store.queries.adminToken.get()).toEqual({ hash: null, createdAt: 0 });
    expect(await ensureAdminToken(h.store.queries, Date.now())).toEqual({ kind: 'none' });
    const res = await admin(h, 'rlva_anything');
    expect(res.status).toBe(404);
    expect(codeOf(res)).toBe('admin_api_disabled');

    const token = await resetAdminToken(h.store.queries, Date.now());
    expect((await admin(h, token)).status).toBe(200);
    expect(await ensureAdminToken(h.store.queries, Date.now())).toEqual({ kind: 'exists' });
  });
});
