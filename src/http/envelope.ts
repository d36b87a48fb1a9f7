/**
 * The two envelopes of docs/api.md §3, written by hand so the key order is exactly the documented one
 * whatever the data: message, statusMessage, status, then data / error, validationError.
 */
import { type ApiError, CATALOGUE, type Lang, type Localised } from '../errors.js';

export function successBody(message: string, data?: unknown): string {
  const head = `{"message":${JSON.stringify([message])},"statusMessage":"success","status":1`;
  return data === undefined ? `${head}}` : `${head},"data":${JSON.stringify(data)}}`;
}

function withExtra(base: Localised, extra: Localised | undefined): Localised {
  if (extra === undefined) return base;
  const out = {} as Record<Lang, string>;
  for (const lang of ['en', 'es', 'pt'] as const) out[lang] = `${base[lang]} ${extra[lang]}`;
  return out;
}

export function errorBody(e: ApiError): string {
  const entry = CATALOGUE[e.code];
  return JSON.stringify({
    message: entry.message,
    statusMessage: 'failure',
    status: 0,
    error: {
      code: e.code,
      key: e.code,
      description: e.description,
      developerMessages: withExtra(entry.developer, e.developerExtra),
      clientMessages: entry.client,
    },
    validationError: e.validation,
  });
}
