/**
 * The disk fills up under SQLite (issue 7, "Faults"): requests get clear 503s in the error
 * envelope — never a 500 — the server keeps running, nothing acknowledged is lost, the file is
 * not corrupted, and everything works again once space returns. The database lives on a small
 * tmpfs mounted for the test, which needs root; elsewhere the test says so and skips.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestJson } from '../helpers/http-client.js';
import { ensureBuilt, type Served, spawnServer } from '../helpers/spawned-server.js';

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'relevo-mount-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}

const mountable = canMount();
if (!mountable) console.warn('*** disk-full test SKIPPED: mounting a small tmpfs needs root ***');

const ADMIN = 'disk-full-admin-token-0123456789';
let dir: string;
let server: Served | undefined;

describe.skipIf(!mountable)('disk full under SQLite', () => {
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'relevo-full-'));
    // 8 MiB: room for the schema and a few hundred conversations, then a filler takes the rest.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
  });
  afterAll(() => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    requestJson(server?.port ?? 0, method, path, headers, body);

  it('answers 503 while the disk is full, loses nothing acknowledged, and recovers when space returns', async () => {
    const path = join(dir, 'relevo.db');
    server = await spawnServer({
      DATABASE_URL: `sqlite:${path}`,
      RELEVO_ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'info',
    });
    const admin = { authorization: `Bearer ${ADMIN}` };
    const project = (await call('POST', '/admin/v1/projects', admin, { name: 'Full' })).json;
    const key = { 'x-api-key': String(project.apiKey) };
    const bot = (await call('POST', `/admin/v1/projects/${project.id}/bots`, admin, { name: 'B' })).json;
    const users: string[] = [];
    for (let i = 0; i < 200; i++) {
      const created = await call('POST', `/admin/v1/projects/${project.id}/users`, admin, { names: `U${i}` });
      if (created.status !== 201)
        throw new Error(`creating user ${i}: ${created.status} ${JSON.stringify(created.json)}`);
      users.push(String(created.json.id));
    }

    // Fill the disk, leaving a little room.
    const filler = join(dir, 'filler');
    const free = () => Number(execFileSync('df', ['--output=avail', '-B1', dir]).toString().split('\n')[1]);
    writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 400 * 1024)));

    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    const start = `/v1/external-support/${project.id}/conversations/start`;
    const big = { note: 'x'.repeat(8_000) };
    for (const userId of users) {
      const r = await call('POST', start, key, { botId: bot.id, userId, metadata: big });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) acknowledged.push(String(r.json.data.conversationId));
      else {
        expect(r.status).toBe(503);
        expect(r.json.error.code).toBe('service_unavailable');
      }
      if ((statuses.get(503) ?? 0) >= 20) break;
    }
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(500) ?? 0).toBe(0);

    // Space returns: the same server carries on.
    rmSync(filler);
    const after = await call('POST', start, key, { botId: bot.id, userId: users.at(-1) });
    expect(after.status).toBe(200);
    acknowledged.push(String(after.json.data.conversationId));
    const missing: string[] = [];
    for (const id of acknowledged) {
      const got = await call('GET', `/v1/external-support/${project.id}/conversations/${id}`, key);
      if (got.status !== 200) missing.push(`${acknowledged.indexOf(id)}:${got.status}`);
    }
    expect(missing).toEqual([]);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    console.info(
      `disk full: ${JSON.stringify(Object.fromEntries(statuses))}, ${acknowledged.length} acknowledged`,
    );
  }, 120_000);
});
