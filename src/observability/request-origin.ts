/**
 * The origin an event keeps of the request that created it (docs/operations.md): the request id
 * always, and the traceparent of the request's span when tracing is on. The tracing module puts
 * that on the raw request under TRACEPARENT; nothing here loads any tracing library, so the
 * cost with tracing off is one property read.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { EventOrigin } from '../model/types.js';

export const TRACEPARENT: unique symbol = Symbol('relevo.traceparent');

export interface TracedRequest extends IncomingMessage {
  [TRACEPARENT]?: string;
}

export function originOf(request: FastifyRequest): EventOrigin {
  return { requestId: request.id, traceparent: (request.raw as TracedRequest)[TRACEPARENT] };
}
