import type { FastifyReply } from 'fastify';
import { successBody } from '../envelope.js';

/**
 * Sends the success envelope as pre-serialised text: the documented key order is kept exactly,
 * and the response schema (kept for the OpenAPI document) is not re-applied.
 */
export function sendSuccess(
  reply: FastifyReply,
  message: string,
  data?: unknown,
  status = 200,
): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .serializer(identity)
    .send(successBody(message, data));
}

const identity = (payload: unknown): string => payload as string;
