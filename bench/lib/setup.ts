/**
 * A benchmark project in a running relevo, made through its admin API like an operator would:
 * a project, bots, end users (every bot × user is a pair the load cycles over) and, for the
 * delivery scenarios, the integration pointing at the receiver.
 */
import type { Pair } from '../load.js';
import { httpJson } from './common.js';
import type { RunningRelevo } from './processes.js';

export interface BenchProject {
  readonly projectId: string;
  readonly apiKey: string;
  readonly pairs: Pair[];
  /** Where the load sends start and close: `<url>/v1/external-support/<projectId>`. */
  readonly base: string;
}

export interface ProjectShape {
  readonly bots: number;
  readonly usersPerBot: number;
  /** The integration's webhook; none when absent. */
  readonly webhookUrl?: string | undefined;
}

async function inBatches<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  }
  return out;
}

export async function createBenchProject(relevo: RunningRelevo, shape: ProjectShape): Promise<BenchProject> {
  const admin = { authorization: `Bearer ${relevo.adminToken}` };
  const api = `${relevo.url}/admin/v1`;
  const project = await httpJson<{ id: string; apiKey: string }>(
    'POST',
    `${api}/projects`,
    { name: 'bench' },
    admin,
  );
  const bots = await inBatches(
    Array.from({ length: shape.bots }, (_, i) => i),
    8,
    (i) =>
      httpJson<{ id: string }>(
        'POST',
        `${api}/projects/${project.id}/bots`,
        { name: `Bench bot ${i}` },
        admin,
      ),
  );
  const users = await inBatches(
    Array.from({ length: shape.usersPerBot }, (_, i) => i),
    8,
    (i) =>
      httpJson<{ id: string }>(
        'POST',
        `${api}/projects/${project.id}/users`,
        { names: `Bench user ${i}` },
        admin,
      ),
  );
  const base = `${relevo.url}/v1/external-support/${project.id}`;
  if (shape.webhookUrl !== undefined) {
    await httpJson('POST', base, { webhookUrl: shape.webhookUrl }, { 'x-api-key': project.apiKey });
  }
  // Interleaved so that consecutive starts touch different bots and users.
  const pairs: Pair[] = [];
  for (const user of users) for (const bot of bots) pairs.push([bot.id, user.id]);
  return { projectId: project.id, apiKey: project.apiKey, pairs, base };
}
