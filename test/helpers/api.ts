/** Small helpers for calling the management and admin APIs in tests. */
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import { ADMIN_TOKEN, basic, type Harness, type Seed } from './harness.js';

export type AuthScheme = 'apiKey' | 'basic';
export const PREFIXES = ['/jelouapi/v1', '/platform/v1', '/v1'] as const;

export function authHeaders(seed: Seed, scheme: AuthScheme): Record<string, string> {
  return scheme === 'apiKey' ? { 'x-api-key': seed.apiKey } : { authorization: basic(seed) };
}

export interface Call {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as-is. */
  body?: unknown;
  contentType?: string | null;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read response JSON loosely and assert on it.
export async function call(app: App, c: Call): Promise<LightMyRequestResponse & { json(): any }> {
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  let payload: string | undefined;
  if (c.body !== undefined) {
    payload = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
    if (c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
  }
  return app.server.inject({ method: c.method ?? 'POST', url: c.url, headers, payload });
}

/** Asserts the error envelope's exact shape and returns it. */
export function errorOf(res: { body: string }): {
  message: string;
  statusMessage: string;
  status: number;
  error: {
    code: string;
    key: string;
    description: string;
    developerMessages: Record<string, string>;
    clientMessages: Record<string, string>;
  };
  validationError: Record<string, string[]>;
} {
  return JSON.parse(res.body);
}

/**
 * Creates the project's integration (POST /v1/external-support/:projectId with the API key),
 * expects 200 and returns the answer's `data` (with its signingSecret).
 */
export async function createIntegration(
  app: App,
  seed: Seed,
  webhookUrl: string,
  extra: Record<string, unknown> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read response JSON loosely and assert on it.
): Promise<any> {
  const res = await call(app, {
    url: `/v1/external-support/${seed.project.id}`,
    headers: authHeaders(seed, 'apiKey'),
    body: { webhookUrl, ...extra },
  });
  expect(res.statusCode).toBe(200);
  return res.json().data;
}

export const ADMIN_AUTH: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface AdminAnswer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response JSON loosely and assert on it.
  readonly body: any;
  readonly text: string;
}

/** One admin API request, with the admin token unless `headers` says otherwise. */
export async function adminCall(
  h: Pick<Harness, 'app'>,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = ADMIN_AUTH,
): Promise<AdminAnswer> {
  const res = await h.app.server.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
  return { status: res.statusCode, body: res.json(), text: res.body };
}

/** An admin API error: its status, and the envelope with `code`. */
export function expectAdminError(res: { status: number; body: unknown }, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ statusMessage: 'failure', status: 0, error: { code } });
}

/** What POST /webchat/:botId/sessions answers. */
export interface WebchatSession {
  sessionToken: string;
  userId: string;
  roomId: string;
}

/** Opens a web chat session with `botId` as a visitor does; expects 201. */
export async function openWebchatSession(
  app: App,
  botId: string,
  body: unknown = {},
): Promise<WebchatSession> {
  const res = await call(app, { url: `/webchat/${botId}/sessions`, body });
  expect(res.statusCode).toBe(201);
  return res.json();
}
