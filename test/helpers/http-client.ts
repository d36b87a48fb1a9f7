/** JSON over real HTTP to a spawned server on loopback, for the end-to-end and fault tests. */
import { expect } from 'vitest';

export interface JsonAnswer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read fields of many response shapes and assert on them.
  readonly json: any;
}

export async function requestJson(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<JsonAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    // A server that stops answering fails the test instead of hanging it.
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, json: await res.json() };
}

export function postJson(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<JsonAnswer> {
  return requestJson(port, 'POST', path, headers, body);
}

export interface HttpSeed {
  readonly projectId: string;
  /** The project's API key header. */
  readonly key: Record<string, string>;
  /** A bot and an end user each, ready to start conversations. */
  readonly pairs: Array<{ botId: string; userId: string }>;
}

/**
 * Over HTTP, as an operator and a panel would: a project (admin API), its integration with
 * `webhookUrl` (expected to answer 200) and `pairs` bots with an end user each. With two ports,
 * the project and the bots go to the first node and the integration and the users to the second,
 * so that both nodes serve writes.
 */
export async function seedOverHttp(
  ports: readonly [number, number?],
  adminToken: string,
  o: { readonly name: string; readonly webhookUrl: string; readonly pairs: number },
): Promise<HttpSeed> {
  const [first, second = first] = ports;
  const admin = { authorization: `Bearer ${adminToken}` };
  const project = (await postJson(first, '/admin/v1/projects', admin, { name: o.name })).json;
  const key = { 'x-api-key': String(project.apiKey) };
  const integration = await postJson(second, `/v1/external-support/${project.id}`, key, {
    webhookUrl: o.webhookUrl,
  });
  expect(integration.status).toBe(200);
  const pairs: Array<{ botId: string; userId: string }> = [];
  for (let i = 0; i < o.pairs; i++) {
    const bot = (await postJson(first, `/admin/v1/projects/${project.id}/bots`, admin, { name: `Bot ${i}` }))
      .json;
    const user = (
      await postJson(second, `/admin/v1/projects/${project.id}/users`, admin, { names: `User ${i}` })
    ).json;
    pairs.push({ botId: String(bot.id), userId: String(user.id) });
  }
  return { projectId: String(project.id), key, pairs };
}
