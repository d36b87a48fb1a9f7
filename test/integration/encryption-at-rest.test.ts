/**
 * Secrets relevo must read back are encrypted at rest when RELEVO_ENCRYPTION_KEY is set: the
 * stored rows hold no usable secret, the API and the delivery worker still use the real ones,
 * and plaintext rows written before the key was set stay readable.
 */
import { createHmac, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { setBotEngine } from '../../src/domain/bots/engine.service.js';
import { receiveFromUser } from '../../src/domain/messages/inbound.service.js';
import { StorageUnavailable } from '../../src/storage/errors.js';
import { SecretBox } from '../../src/storage/secret-box.js';
import { authHeaders, call } from '../helpers/api.js';
import { startedPair } from '../helpers/events.js';
import { ADMIN_TOKEN, createHarness, type Harness } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import { TEST_DB } from '../helpers/test-database.js';

const KEY = randomBytes(32).toString('hex');
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** One raw row, read around the store; `sql` has one `?` parameter. */
async function rawRow<T>(h: Harness, sql: string, param: string): Promise<T> {
  if (TEST_DB === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(`${h.dir}/relevo.db`, { readonly: true });
    try {
      return db.prepare(sql).get(param) as T;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: h.config.databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql.replace('?', '$1'), [param])).rows[0];
  } finally {
    await client.end();
  }
}

/** The raw integrations row. */
const rawIntegration = (h: Harness, projectId: string) =>
  rawRow<{ signing_secret: string; authorization_value: string | null }>(
    h,
    'SELECT signing_secret, authorization_value FROM integrations WHERE project_id = ?',
    projectId,
  );

it('stores signing secrets and webhook credentials encrypted, and still signs with the real secret', async () => {
  const receiver = await startReceiver();
  const h = await createHarness({ RELEVO_ENCRYPTION_KEY: KEY }, { worker: true });
  open.push(receiver, h);
  const s = await h.seed();
  const res = await call(h.app, {
    url: `/v1/external-support/${s.project.id}`,
    headers: authHeaders(s, 'apiKey'),
    body: { webhookUrl: receiver.url, authType: 'bearer', authorization: 'panel-token-123' },
  });
  const secret = res.json().data.signingSecret as string;
  const raw = await rawIntegration(h, s.project.id);
  expect(raw.signing_secret.startsWith('enc:v1:')).toBe(true);
  expect(raw.signing_secret).not.toContain(secret);
  expect(raw.authorization_value?.startsWith('enc:v1:')).toBe(true);
  expect(raw.authorization_value).not.toContain('panel-token-123');

  await startedPair(h.store, s.project.id);
  const [got] = await receiver.waitFor(1);
  expect(got!.headers.authorization).toBe('Bearer panel-token-123');
  expect(got!.headers['x-jelou-signature']).toBe(
    `sha256=${createHmac('sha256', secret).update(got!.body).digest('hex')}`,
  );
});

it("stores a bot engine's signing secret encrypted, and still signs the bot's events with the real one", async () => {
  const botHook = await startReceiver();
  const h = await createHarness({ RELEVO_ENCRYPTION_KEY: KEY }, { worker: true });
  open.push(botHook, h);
  const s = await h.seed();
  const set = await h.store.transaction((tx) =>
    setBotEngine(tx, s.project.id, s.bot.id, { type: 'external', webhookUrl: botHook.url }, Date.now()),
  );
  const secret = set.signingSecret ?? '';
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  const raw = await rawRow<{ signing_secret: string }>(
    h,
    'SELECT signing_secret FROM bot_engines WHERE bot_id = ?',
    s.bot.id,
  );
  expect(raw.signing_secret.startsWith('enc:v1:')).toBe(true);
  expect(raw.signing_secret).not.toContain(secret);

  const text = { type: 'text' as const, content: { body: 'hello' } };
  await h.store.transaction((tx) =>
    receiveFromUser(tx, {
      bot: { ...s.bot, engine: 'external' },
      user: s.user,
      message: text,
      now: Date.now(),
    }),
  );
  const [got] = await botHook.waitFor(1);
  expect(got!.headers['x-jelou-signature']).toBe(
    `sha256=${createHmac('sha256', secret).update(got!.body).digest('hex')}`,
  );
});

it("stores a WhatsApp channel's access token, app secret and verify token encrypted, and still uses the real ones", async () => {
  const h = await createHarness({ RELEVO_ENCRYPTION_KEY: KEY });
  open.push(h);
  const s = await h.seed();
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const bot = await call(h.app, {
    url: `/admin/v1/projects/${s.project.id}/bots`,
    headers: admin,
    body: { name: 'Loja', channel: 'whatsapp' },
  });
  const botId = bot.json().id as string;
  const put = await h.app.server.inject({
    method: 'PUT',
    url: `/admin/v1/projects/${s.project.id}/bots/${botId}/channel`,
    headers: { ...admin, 'content-type': 'application/json' },
    payload: JSON.stringify({
      phoneNumberId: '123',
      accessToken: 'EAAG-token-xyz',
      appSecret: 'app-secret-xyz',
      verifyToken: 'verify-xyz',
    }),
  });
  expect(put.statusCode).toBe(200);
  const raw = await rawRow<{ signing_key: string; wa_access_token: string; wa_verify_token: string }>(
    h,
    'SELECT signing_key, wa_access_token, wa_verify_token FROM bot_channels WHERE bot_id = ?',
    botId,
  );
  for (const [stored, plain] of [
    [raw.signing_key, 'app-secret-xyz'],
    [raw.wa_access_token, 'EAAG-token-xyz'],
    [raw.wa_verify_token, 'verify-xyz'],
  ]) {
    expect(stored?.startsWith('enc:v1:')).toBe(true);
    expect(stored).not.toContain(plain);
  }
  // The real verify token still answers Meta's handshake.
  const verified = await h.app.server.inject({
    method: 'GET',
    url: `/v1/channels/whatsapp/${botId}?hub.mode=subscribe&hub.verify_token=verify-xyz&hub.challenge=7`,
  });
  expect(verified.body).toBe('7');
});

it('reads plaintext secrets written before a key was set, and refuses encrypted ones without the key', async () => {
  const box = new SecretBox(Buffer.from(KEY, 'hex'));
  expect(box.open('plain-secret')).toBe('plain-secret');
  const sealed = box.seal('s3cret');
  expect(sealed).not.toContain('s3cret');
  expect(box.open(sealed)).toBe('s3cret');
  // Two seals of one value differ (random IV).
  expect(box.seal('s3cret')).not.toBe(sealed);
  expect(() => new SecretBox(undefined).open(sealed)).toThrow(StorageUnavailable);
  expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/cannot be decrypted/);
  // Tampering is detected (GCM tag).
  const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}`;
  expect(() => box.open(tampered)).toThrow(StorageUnavailable);
});
