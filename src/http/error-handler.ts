/**
 * Every error, from any layer, leaves as the documented error envelope with the documented
 * status. Anything unexpected is a 500 whose description carries the request id, logged in full
 * on the server and never shown to the caller.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, coerceError, validationError } from '../errors.js';
import { StorageUnavailable, UnstorableText } from '../storage/errors.js';
import { errorBody } from './envelope.js';
import { type RouteMethods, routeMiss } from './route-methods.js';
import { toValidationErrors } from './validation.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** HTTP status for schema validation failures on this route (docs/api.md §4.3 uses 400). */
    validationStatus?: number;
  }
}

export function sendError(reply: FastifyReply, e: ApiError): FastifyReply {
  for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
  return reply.code(e.status).type('application/json; charset=utf-8').send(errorBody(e));
}

export function toApiError(raw: unknown, request: FastifyRequest): ApiError {
  if (raw instanceof ApiError) {
    // Body-parse failures are raised before the route's own status is known.
    const routeStatus = request.routeOptions.config?.validationStatus;
    if (raw.code === 'unprocessable_entity' && routeStatus !== undefined) {
      return new ApiError(raw.code, raw.description, raw.validation, { status: routeStatus });
    }
    return raw;
  }
  if (raw instanceof UnstorableText) {
    return validationError({ body: [raw.message] }, request.routeOptions.config?.validationStatus);
  }
  if (raw instanceof StorageUnavailable) {
    request.log.error({ err: raw }, 'storage unavailable');
    return new ApiError('service_unavailable', undefined, {}, { headers: { 'retry-after': '1' } });
  }
  const e = raw as FastifyError & { validationContext?: string };
  if (Array.isArray(e.validation)) {
    const fields = toValidationErrors(e.validation, e.validationContext ?? 'body');
    return validationError(fields, request.routeOptions.config?.validationStatus);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new ApiError(
        'unsupported_media_type',
        `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; send application/json.`,
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        'payload_too_large',
        `The body is larger than the limit of ${request.routeOptions.bodyLimit} bytes.`,
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return validationError(
        { body: ['does not match its Content-Length'] },
        request.routeOptions.config?.validationStatus,
      );
  }
  if (typeof e.statusCode === 'number' && e.statusCode === 413) {
    return new ApiError('payload_too_large');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError('bad_request', e.message);
  }
  const err = coerceError(raw);
  request.log.error({ err }, 'unexpected error');
  return new ApiError('internal_server_error', `An unexpected error occurred (request id ${request.id}).`);
}

export function registerErrorHandling(app: FastifyInstance, methods: RouteMethods): void {
  app.setErrorHandler((raw, request, reply) => {
    const e = toApiError(raw, request);
    if (e.status < 500) request.log.info({ code: e.code, status: e.status }, 'request refused');
    return sendError(reply, e);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, routeMiss(methods, request.method, request.url)),
  );
}
