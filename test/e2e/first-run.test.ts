/**
 * A newcomer's first start: `relevo serve` on a fresh SQLite file without RELEVO_ADMIN_TOKEN
 * prints the admin token once, as plain text on stderr in the shape the README quotes, keeps it
 * out of the JSON log on stdout, and the token works at once; a restart prints nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, requestJson } from '../helpers/http-client.js';
import { ensureBuilt, firstRunToken, type Served, spawnServer } from '../helpers/spawned-server.js';

let dir: string;
const servers: Served[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-first-run-'));
});
afterAll(() => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

it('prints a working admin token once, on stderr and never in the JSON log; a restart prints nothing', async () => {
  const env = { DATABASE_URL: `sqlite:${join(dir, 'fresh.db')}`, LOG_LEVEL: 'info' };
  const first = await spawnServer(env);
  servers.push(first);
  const token = await firstRunToken(first);
  expect(first.stderr).toBe(
    [
      'relevo: first run — an admin token was created; it is shown only this once:',
      '',
      `  export RELEVO_ADMIN_TOKEN=${token}`,
      '',
      'Next, in another terminal: run the export line above, then create a project:',
      `  curl -s -X POST http://127.0.0.1:${first.port}/admin/v1/projects -H "Authorization: Bearer $RELEVO_ADMIN_TOKEN" -H 'Content-Type: application/json' -d '{"name":"Acme"}'`,
      '(Lost it? `npx relevo admin-token reset` prints a new one.)',
      '',
    ].join('\n'),
  );
  // stdout stays JSON lines for machines: every line parsed, none holds the token.
  expect(first.lines.filter((l) => typeof l.level !== 'number')).toEqual([]);
  expect(JSON.stringify(first.lines)).not.toContain(token);
  expect(first.lines.find((l) => l.msg === 'relevo listening')?.adminApi).toBe(true);

  const auth = { authorization: `Bearer ${token}` };
  const created = await postJson(first.port, '/admin/v1/projects', auth, { name: 'Acme' });
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({ name: 'Acme' });
  const wrong = await postJson(first.port, '/admin/v1/projects', { authorization: `Bearer ${token}x` }, {});
  expect(wrong.status).toBe(401);
  expect(wrong.json.error.code).toBe('admin_unauthorized');
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);

  const second = await spawnServer(env);
  servers.push(second);
  await second.waitFor(
    (l) => String(l.msg).startsWith('admin API is on with the token printed'),
    'admin API on',
  );
  expect((await requestJson(second.port, 'GET', '/admin/v1/projects', auth)).status).toBe(200);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(second.stderr).toBe('');
});

it('prints localhost in the curl line when listening on every interface', async () => {
  const served = await spawnServer({ DATABASE_URL: `sqlite:${join(dir, 'any.db')}`, HOST: '0.0.0.0' });
  servers.push(served);
  await firstRunToken(served);
  expect(served.stderr).toContain(`  curl -s -X POST http://localhost:${served.port}/admin/v1/projects `);
  served.child.kill('SIGTERM');
  expect(await served.exited).toBe(0);
});
