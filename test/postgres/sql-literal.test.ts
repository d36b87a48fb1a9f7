/**
 * NOTIFY cannot take a parameter, so its payload is written as a literal: whatever the text, the
 * listener must receive it unchanged, with the server's standard_conforming_strings on or off.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sqlLiteral } from '../../src/storage/postgres/sql-literal.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let dir: string;
let db: TestDatabase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-literal-'));
  db = await createTestDatabase(dir);
});
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const TEXTS = [
  '{"p":"123.abc","e":1,"r":["room_01jd0000000000000000000000"],"s":0}',
  "it's",
  "''",
  'back\\slash',
  "\\'",
  'tab\there, newline\nthere',
  'ünïcødé ✓',
  '',
];

for (const conforming of ['on', 'off']) {
  it(`a NOTIFY payload arrives unchanged (standard_conforming_strings ${conforming})`, async () => {
    const listener = new pg.Client({ connectionString: db.url });
    const sender = new pg.Client({ connectionString: db.url });
    await Promise.all([listener.connect(), sender.connect()]);
    try {
      const received: string[] = [];
      listener.on('notification', (n) => received.push(n.payload ?? ''));
      await listener.query('LISTEN literal_test');
      await sender.query(`SET standard_conforming_strings = ${conforming}`);
      for (const text of TEXTS) {
        await sender.query(`BEGIN; NOTIFY literal_test, ${sqlLiteral(text)}; COMMIT`);
      }
      const deadline = Date.now() + 5_000;
      while (received.length < TEXTS.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(received).toEqual(TEXTS);
    } finally {
      await Promise.all([listener.end(), sender.end()]);
    }
  });
}
