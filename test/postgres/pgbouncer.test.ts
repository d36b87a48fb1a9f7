/**
 * relevo behind PgBouncer in transaction pooling, the way a many-node deployment runs it:
 * DATABASE_URL goes through the pooler, which hands each transaction whatever server connection
 * is free (two here, for ten client connections, so consecutive transactions of one client land
 * on different server connections), and RELEVO_DATABASE_LISTEN_URL reaches the database directly
 * for LISTEN and the migrations' lock. Nothing may rely on session state: a statement prepared
 * by name on one server connection does not exist on the next.
 *
 * PgBouncer (Debian's `pgbouncer`) refuses to run as root, like PostgreSQL; as root it runs as
 * the `postgres` user the test cluster runs as. Without it the test is skipped, unless
 * RELEVO_REQUIRE_POSTGRES=1.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import type { Committed } from '../../src/storage/store.js';
import { postJson as post } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, freePort, type Served, spawnServer } from '../helpers/spawned-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

function findPgbouncer(): string | undefined {
  const fromPath = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).stdout.trim();
  if (fromPath !== '') return fromPath;
  for (const p of ['/usr/sbin/pgbouncer', '/usr/local/sbin/pgbouncer', '/usr/local/bin/pgbouncer']) {
    if (spawnSync(p, ['--version']).status === 0) return p;
  }
  return undefined;
}

const PGBOUNCER = findPgbouncer();
if (PGBOUNCER === undefined) {
  if (process.env.RELEVO_REQUIRE_POSTGRES === '1') {
    throw new Error('RELEVO_REQUIRE_POSTGRES=1 but pgbouncer is not installed (apt-get install pgbouncer).');
  }
  console.warn(
    '\n*** pgbouncer not found: the PgBouncer test is SKIPPED. Install pgbouncer to run it. ***\n',
  );
}

const ADMIN = 'pgbouncer-admin-token-0123456789';

/** Resolves once something accepts connections on 127.0.0.1:`port`. */
async function listening(port: number, process: ChildProcess, log: string): Promise<void> {
  for (let waited = 0; ; waited += 50) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (process.exitCode !== null || waited > 10_000) {
      let text = '';
      try {
        text = readFileSync(log, 'utf8');
      } catch {}
      throw new Error(`pgbouncer did not start: ${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(PGBOUNCER === undefined)('behind PgBouncer (pool_mode = transaction)', () => {
  let dir: string;
  let db: TestDatabase;
  let receiver: Receiver;
  let bouncer: ChildProcess | undefined;
  let bouncerUrl: string;
  let server: Served | undefined;
  const stores: PostgresStore[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'relevo-pgbouncer-'));
    // PgBouncer runs as the postgres user when we are root: it must read its files and write its log.
    chmodSync(dir, 0o777);
    db = await createTestDatabase(dir);
    receiver = await startReceiver();
    const target = new URL(db.url);
    const port = await freePort();
    const log = join(dir, 'pgbouncer.log');
    const ini = join(dir, 'pgbouncer.ini');
    writeFileSync(join(dir, 'users.txt'), `"${target.username}" ""\n`);
    writeFileSync(
      ini,
      [
        '[databases]',
        `* = host=${target.hostname} port=${target.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'users.txt')}`,
        'pool_mode = transaction',
        // Fewer server connections than relevo's pool: transactions of one client connection
        // move between server connections, as they do under load in production.
        'default_pool_size = 2',
        'max_client_conn = 100',
        `logfile = ${log}`,
        '',
      ].join('\n'),
    );
    const asRoot = process.getuid?.() === 0;
    const [file, args] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', PGBOUNCER as string, ini]]
      : [PGBOUNCER as string, [ini]];
    bouncer = spawn(file, args, { stdio: 'ignore' });
    await listening(port, bouncer, log);
    bouncerUrl = `postgres://${target.username}@127.0.0.1:${port}${target.pathname}`;
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    for (const s of stores) await s.close();
    await receiver?.close();
    await db?.drop();
    if (bouncer && bouncer.exitCode === null) {
      const exited = new Promise((r) => bouncer?.once('exit', r));
      bouncer.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, messages, closes and delivers the webhooks; NOTIFY through the pooler wakes a LISTEN on the direct URL', async () => {
    server = await spawnServer({
      DATABASE_URL: bouncerUrl,
      RELEVO_DATABASE_LISTEN_URL: db.url,
      RELEVO_ADMIN_TOKEN: ADMIN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
      RELEVO_DB_POOL_SIZE: '10',
      LOG_LEVEL: 'info',
    });
    const port = server.port;

    // Another node's store, listening on the direct URL, hears the server's commits.
    const listener = new PostgresStore({ url: bouncerUrl, listenUrl: db.url, poolSize: 2 });
    stores.push(listener);
    const heard: NonNullable<Committed['remote']>[] = [];
    let listeningNow = false;
    listener.onCommitted((c) => {
      if (c.remote === undefined) return;
      // The first announcement is the store's own, once LISTEN is up (anything may be waiting).
      if (!listeningNow) listeningNow = true;
      else heard.push(c.remote);
    });
    for (let waited = 0; !listeningNow; waited += 20) {
      if (waited > 10_000) throw new Error('the second store never listened');
      await new Promise((r) => setTimeout(r, 20));
    }

    const admin = { authorization: `Bearer ${ADMIN}` };
    const project = (await post(port, '/admin/v1/projects', admin, { name: 'Pooled' })).json;
    const key = { 'x-api-key': String(project.apiKey) };
    const integration = await post(port, `/v1/external-support/${project.id}`, key, {
      webhookUrl: receiver.url,
    });
    expect(integration.status).toBe(200);
    const signingSecret = String(integration.json.data.signingSecret);

    // Concurrent cycles on several pairs: ten client connections share two server connections.
    const PAIRS = 8;
    const pairs: Array<{ botId: string; userId: string }> = [];
    for (let i = 0; i < PAIRS; i++) {
      const bot = (await post(port, `/admin/v1/projects/${project.id}/bots`, admin, { name: `Bot ${i}` }))
        .json;
      const user = (await post(port, `/admin/v1/projects/${project.id}/users`, admin, { names: `User ${i}` }))
        .json;
      pairs.push({ botId: String(bot.id), userId: String(user.id) });
    }
    const base = `/v1/external-support/${project.id}/conversations`;
    const conversations = await Promise.all(
      pairs.map(async (pair) => {
        const started = await post(port, `${base}/start`, key, pair);
        expect(started.status, JSON.stringify(started.json)).toBe(200);
        // A second start of the same pair is refused, and only it: the one-active index.
        const again = await post(port, `${base}/start`, key, pair);
        expect(again.status).toBe(409);
        return { pair, conversationId: String(started.json.data.conversationId) };
      }),
    );
    const startEvents = await receiver.waitFor(PAIRS, 15_000);
    const first = conversations[0];
    if (first === undefined) throw new Error('no conversation');
    const firstStart = startEvents
      .map((r) => JSON.parse(r.body) as { conversation?: { id?: string }; room_id?: string })
      .find((e) => e.conversation?.id === first.conversationId);
    const roomId = String(firstStart?.room_id);

    // The panel's message to the end user, signed; a repeated id is acknowledged with the same message.
    const raw = JSON.stringify({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: project.id,
      room_id: roomId,
      bot_id: first.pair.botId,
      user_id: first.pair.userId,
      value: { id: 'panel-msg-1', type: 'text', content: { body: 'Hola desde el panel' } },
    });
    const signature = `sha256=${createHmac('sha256', signingSecret).update(raw).digest('hex')}`;
    const sendMessage = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/external-support/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-jelou-signature': signature },
        body: raw,
      });
      return { status: res.status, json: (await res.json()) as { data: { messageId: string } } };
    };
    const sent = await sendMessage();
    expect(sent.status).toBe(200);
    const repeated = await sendMessage();
    expect(repeated.status).toBe(200);
    expect(repeated.json.data.messageId).toBe(sent.json.data.messageId);

    const closed = await Promise.all(conversations.map(({ pair }) => post(port, `${base}/close`, key, pair)));
    for (const c of closed) expect(c.status).toBe(200);

    // Every start and close reaches the receiver, once each (de-duplicated by webhook-id).
    const expected = new Set(
      conversations.flatMap((c) => [`start:${c.conversationId}`, `close:${c.conversationId}`]),
    );
    await receiver.waitFor(expected.size, 15_000);
    const delivered = new Set<string>();
    for (const r of receiver.received) {
      const body = JSON.parse(r.body) as { event?: string; conversation?: { id?: string } };
      if (body.event === 'conversation.start') delivered.add(`start:${body.conversation?.id}`);
      if (body.event === 'conversation.close') delivered.add(`close:${body.conversation?.id}`);
    }
    expect([...delivered].sort()).toEqual([...expected].sort());

    // The server's commits NOTIFY through the pooler; the LISTEN on the direct URL heard them:
    // events to deliver, and the message's room (web chat streams on other nodes wake on it).
    expect(heard.some((h) => h.hasEvents)).toBe(true);
    for (let waited = 0; !heard.some((h) => h.roomIds.includes(roomId)); waited += 20) {
      if (waited > 5_000) throw new Error(`no NOTIFY naming room ${roomId}: ${JSON.stringify(heard)}`);
      await new Promise((r) => setTimeout(r, 20));
    }

    // Nothing failed on the way: no prepared statement missing on another server connection.
    expect(server.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
  });
});
