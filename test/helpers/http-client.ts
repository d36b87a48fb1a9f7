/** JSON over real HTTP to a spawned server on loopback, for the end-to-end and fault tests. */

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
