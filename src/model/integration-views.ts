/**
 * What the integration routes answer (docs/api.md §4.1–§4.5): one TypeBox schema per shape, whose
 * static type the domain's views (domain/integrations/integration.service.ts) return.
 */
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from './schema-parts.js';
import type { AuthType } from './types.js';

export const AUTH_TYPES: readonly AuthType[] = ['no_auth', 'bearer', 'api_key', 'basic'];

export const AuthTypeSchema = StringEnum(AUTH_TYPES, {
  description:
    'How relevo authenticates to the webhook: no_auth (default), bearer (Authorization: Bearer), api_key (X-API-Key) or basic (Authorization: Basic).',
});

const Timestamp = Type.String({ format: 'date-time', examples: ['2026-01-15T10:30:00.000Z'] });

export const CreatedIntegration = Type.Object({
  id: Type.String(),
  brainId: Type.String({ description: 'The project id' }),
  webhookUrl: Type.String(),
  authType: AuthTypeSchema,
  signingSecret: Type.String({
    description: '64 hex characters; shown here and by secret/regenerate only, never readable again',
  }),
  createdAt: Timestamp,
});

export const IntegrationView = Type.Object({
  id: Type.String(),
  brainId: Type.String({ description: 'The project id' }),
  webhookUrl: Type.String(),
  authType: AuthTypeSchema,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  disabled: Type.Boolean({
    description:
      'true once relevo stopped sending: the webhook answered 410 Gone, or every attempt failed for 5 days. Events keep being stored and go out, in order, after the next update (PATCH) re-enables it.',
  }),
  disabledAt: Type.Unsafe<string | null>({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When it was disabled; null while enabled',
  }),
  disabledReason: Type.Unsafe<string | null>({
    type: 'string',
    nullable: true,
    description:
      "Why: 'the webhook answered 410 Gone' or 'every attempt failed for 5 days'; null while enabled",
  }),
});

export const RegeneratedSecret = Type.Object({
  brainId: Type.String({ description: 'The project id' }),
  signingSecret: Type.String({ description: '64 hex characters; the previous secret stops working at once' }),
  regeneratedAt: Timestamp,
});

export type IntegrationViewShape = Static<typeof IntegrationView>;
export type CreatedIntegrationShape = Static<typeof CreatedIntegration>;
