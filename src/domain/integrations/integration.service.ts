/**
 * Integrations: a project's webhook URL, the auth relevo presents to it, and the secret that
 * signs every event (docs/api.md §4.1–§4.5). Functions take the transaction; the route owns its
 * boundary and checks the URL against the network policy (delivery/webhook-url.ts) before
 * opening it (DNS is I/O).
 */
import { ApiError, validationError } from '../../errors.js';
import { newId, newSigningSecret } from '../../model/ids.js';
import type { CreatedIntegrationShape, IntegrationViewShape } from '../../model/integration-views.js';
import type { AuthType, Integration } from '../../model/types.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { Queries, Tx } from '../../storage/store.js';

/** Long enough for any real token (JWTs with many claims run to 2-3 KB), short enough for a header. */
export const AUTHORIZATION_MAX_LENGTH = 4096;

export interface CreateIntegrationInput {
  readonly projectId: string;
  /** Already checked against the network policy. */
  readonly webhookUrl: string;
  readonly authType: AuthType;
  readonly authorization: string | null;
  readonly now: number;
}

export interface IntegrationChanges {
  /** Already checked against the network policy. */
  readonly webhookUrl?: string | undefined;
  readonly authType?: AuthType | undefined;
  readonly authorization?: string | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * §4.2: what GET and PATCH return; never the secret nor the authorization value. `disabled`,
 * `disabledAt` and `disabledReason` are relevo's additions: an integration the dispatcher
 * disabled (a 410 Gone, or 5 days of failures) sends nothing until it is updated, and the panel
 * must be able to see that.
 */
export function integrationView(i: Integration): IntegrationViewShape {
  return {
    id: i.id,
    brainId: i.projectId,
    webhookUrl: i.webhookUrl,
    authType: i.authType,
    createdAt: iso(i.createdAt),
    updatedAt: iso(i.updatedAt),
    disabled: !i.enabled,
    disabledAt: i.enabled || i.disabledAt === null ? null : iso(i.disabledAt),
    disabledReason: i.enabled ? null : i.disabledReason,
  };
}

/** §4.1: the only response besides §4.5 that shows the signing secret. */
export function createdIntegrationView(i: Integration): CreatedIntegrationShape {
  return {
    id: i.id,
    brainId: i.projectId,
    webhookUrl: i.webhookUrl,
    authType: i.authType,
    signingSecret: i.signingSecret,
    createdAt: iso(i.createdAt),
  };
}

/**
 * What the authorization value must look like for an auth type, or undefined when it is fine.
 * It ends up in an HTTP header of every delivery, so it must be something a header can carry.
 */
function authorizationProblem(authType: AuthType, authorization: string): string | undefined {
  if (authorization === '') return `must not be empty when authType is ${authType}`;
  if (authorization.length > AUTHORIZATION_MAX_LENGTH) {
    return `must be at most ${AUTHORIZATION_MAX_LENGTH} characters`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(authorization)) {
    return 'must not contain control characters (it is sent in an HTTP header)';
  }
  // Encrypted at rest, it never reaches the storage check: UTF-8 would turn the surrogate into U+FFFD.
  if (/[\ud800-\udfff]/u.test(authorization)) {
    return 'must not contain an unpaired surrogate (it is sent in an HTTP header)';
  }
  if (authType === 'basic') {
    // RFC 7617: the user id cannot contain a colon, the password may be empty (an API key sent
    // as the user name with no password is common).
    const colon = authorization.indexOf(':');
    if (colon <= 0) return 'must be user:password when authType is basic';
  }
  return undefined;
}

/**
 * The authorization to store for an auth type, given what the caller sent (undefined: not
 * sent) and what is stored now (null: none). `no_auth` stores none: an empty value is
 * tolerated (some clients always send the field) and anything else is refused, since it would
 * never be used. Throws the validation error with the route's status.
 */
export function resolveAuthorization(
  authType: AuthType,
  sent: string | undefined,
  stored: string | null,
  status?: number,
): string | null {
  if (authType === 'no_auth') {
    if (sent !== undefined && sent !== '') {
      throw validationError(
        { authorization: ['must not be sent when authType is no_auth; choose bearer, api_key or basic'] },
        status,
      );
    }
    return null;
  }
  const value = sent ?? stored;
  if (value === null) {
    throw validationError({ authorization: [`is required when authType is ${authType}`] }, status);
  }
  const problem = authorizationProblem(authType, value);
  if (problem !== undefined) {
    // A stored value that no longer fits the new type must be replaced, and the caller must
    // learn that it was the stored one that did not fit.
    const detail = sent === undefined ? `${problem}; the stored value does not fit, send a new one` : problem;
    throw validationError({ authorization: [detail] }, status);
  }
  return value;
}

function alreadyExists(): ApiError {
  return new ApiError(
    'integration_already_exists',
    'This project already has an integration; change it with PATCH or delete it first.',
  );
}

function notFound(): ApiError {
  return new ApiError('integration_not_found', 'This project has no integration.');
}

export async function createIntegration(tx: Tx, input: CreateIntegrationInput): Promise<Integration> {
  if ((await tx.integrations.get(input.projectId)) !== undefined) throw alreadyExists();
  const integration: Integration = {
    id: newId('int', input.now),
    projectId: input.projectId,
    webhookUrl: input.webhookUrl,
    authType: input.authType,
    authorization: input.authorization,
    signingSecret: newSigningSecret(),
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    createdAt: input.now,
    updatedAt: input.now,
  };
  try {
    await tx.integrations.insert(integration);
  } catch (e) {
    // Two nodes creating at once: the unique index on project_id picks one winner.
    if (e instanceof UniqueViolation && e.constraint === 'integrations_project') throw alreadyExists();
    throw e;
  }
  return integration;
}

export async function getIntegration(q: Queries, projectId: string): Promise<Integration> {
  const found = await q.integrations.get(projectId);
  if (found === undefined) throw notFound();
  return found;
}

/**
 * §4.3: only the fields sent change. Any successful update re-enables an integration that a
 * 410 Gone disabled (docs/webhooks.md, "Retries"). `status` is the route's
 * status for invalid values (400 here).
 */
export async function updateIntegration(
  tx: Tx,
  projectId: string,
  changes: IntegrationChanges,
  now: number,
  status?: number,
): Promise<Integration> {
  const current = await getIntegration(tx, projectId);
  const authType = changes.authType ?? current.authType;
  const authTouched = changes.authType !== undefined || changes.authorization !== undefined;
  const authorization = authTouched
    ? resolveAuthorization(authType, changes.authorization, current.authorization, status)
    : current.authorization;
  const updated = await tx.integrations.update(projectId, {
    ...(changes.webhookUrl === undefined ? {} : { webhookUrl: changes.webhookUrl }),
    authType,
    authorization,
    enabled: true,
    disabledReason: null,
    updatedAt: now,
  });
  if (updated === undefined) throw notFound();
  // A fresh start: the 5-day run of failures that may have disabled it is forgotten too, or
  // the next failure would disable it again at once.
  await tx.integrations.clearFailure(projectId);
  return updated;
}

/** §4.4: the integration goes, and so do its undelivered events (kept as `cancelled`). */
export async function deleteIntegration(tx: Tx, projectId: string): Promise<{ cancelledEvents: number }> {
  // Events before the integration: the dispatcher settles an event then touches its
  // integration, and taking row locks in that same order keeps PostgreSQL from deadlocking.
  const cancelledEvents = await tx.outbox.cancelPending(projectId);
  if (!(await tx.integrations.delete(projectId))) throw notFound();
  return { cancelledEvents };
}

/**
 * §4.5: a new secret replaces the old one at once; the sender reads the secret at every
 * attempt, so retries of older events are signed with the new one too. Regenerating is not an
 * update of the webhook settings and does not re-enable a disabled integration.
 */
export async function regenerateSigningSecret(
  tx: Tx,
  projectId: string,
  now: number,
): Promise<{ brainId: string; signingSecret: string; regeneratedAt: string }> {
  const signingSecret = newSigningSecret();
  const updated = await tx.integrations.update(projectId, { signingSecret, updatedAt: now });
  if (updated === undefined) throw notFound();
  return { brainId: projectId, signingSecret, regeneratedAt: iso(now) };
}
