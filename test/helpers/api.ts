/** Small helpers for calling the management API in tests. */
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.js';
import { basic, type Seed } from './harness.js';

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
