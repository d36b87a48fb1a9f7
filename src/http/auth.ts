/**
 * Authentication of management routes (docs/api.md §2) and of the admin API (docs/admin.md).
 *
 * A credential authenticates as exactly one project; any failure — missing, malformed, unknown,
 * revoked, wrong secret, or another project than the path's — is the same 401, so the answer
 * never reveals whether a project or credential exists.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { checkStoredAdminToken } from '../auth/admin-token.js';
import type { CredentialCache } from '../auth/credential-cache.js';
import { credentialIdOfApiKey, verifySecret } from '../auth/credential-secrets.js';
import { requireProject } from '../domain/projects/project.service.js';
import { ApiError } from '../errors.js';
import type { Credential } from '../model/types.js';
import type { Queries } from '../storage/store.js';
import { authenticated } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The credential that authenticated this request (management routes only). */
    credential?: Credential;
    /**
     * Set when a management route was called with the admin token rather than a project
     * credential (docs/decisions.md "The admin token on the management routes").
     */
    adminCaller?: true;
  }
}

const unauthorized = (why: string) => new ApiError('unauthorized', why);

/** Finds and checks the credential a request presents; throws the 401 otherwise. */
export async function authenticate(
  request: FastifyRequest,
  credentials: CredentialCache,
  projectId: string,
): Promise<Credential> {
  const apiKey = request.headers['x-api-key'];
  let credential: Credential | undefined;
  if (apiKey !== undefined) {
    if (typeof apiKey !== 'string') throw unauthorized('Send exactly one x-api-key header.');
    const id = credentialIdOfApiKey(apiKey.trim());
    const found = id === undefined ? undefined : await credentials.credential(id);
    if (found !== undefined && verifySecret(apiKey.trim(), found.apiKeyHash)) credential = found;
  } else {
    const header = request.headers.authorization;
    if (header === undefined) {
      throw unauthorized(
        'No credentials: send x-api-key, or Authorization: Basic base64(clientId:clientSecret).',
      );
    }
    const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
    if (!m?.[1]) throw unauthorized('The Authorization header must be Basic base64(clientId:clientSecret).');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw unauthorized('The Basic credentials must decode to clientId:clientSecret.');
    const found = await credentials.credentialOfClient(decoded.slice(0, colon));
    if (found !== undefined && verifySecret(decoded.slice(colon + 1), found.clientSecretHash))
      credential = found;
  }
  if (credential === undefined || credential.revokedAt !== null || credential.projectId !== projectId) {
    throw unauthorized('The credential is not valid for this project.');
  }
  authenticated(request);
  return credential;
}

/** Whether the request presents a bearer token (the admin token's scheme) rather than a credential. */
function presentsBearer(request: FastifyRequest): boolean {
  return request.headers['x-api-key'] === undefined && /^Bearer\s/i.test(request.headers.authorization ?? '');
}

/**
 * Who calls a management route of a project: one of its credentials, or the admin token acting
 * as any project (docs/decisions.md "The admin token on the management routes"), for which the
 * project must exist (404 project_not_found, as on the admin API). `adminCheck` is undefined when
 * the admin API is off: a bearer token is then refused like any bad credential.
 */
export function managementAuthenticator(
  credentials: CredentialCache,
  queries: Queries,
  adminCheck: ((request: FastifyRequest) => Promise<void>) | undefined,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const { projectId } = request.params as { projectId?: string };
    if (projectId === undefined) return;
    if (adminCheck !== undefined && presentsBearer(request)) {
      // A wrong bearer token is the routes' uniform 401 (docs/api.md §2.1): a client that sends
      // its API key as a bearer token learns what to send instead.
      await adminCheck(request).catch(() => {
        throw unauthorized(
          'The bearer token is not the admin token. Send x-api-key, or Authorization: Basic base64(clientId:clientSecret).',
        );
      });
      await requireProject(queries, projectId);
      request.adminCaller = true;
      return;
    }
    request.credential = await authenticate(request, credentials, projectId);
  };
}

/** The bearer token a request presents ('' when none). */
function bearerOf(request: FastifyRequest): string {
  const m = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return m?.[1]?.trim() ?? '';
}

/** Checks `Authorization: Bearer <RELEVO_ADMIN_TOKEN>` in constant time. */
export function authenticateAdmin(request: FastifyRequest, adminToken: string): void {
  const given = Buffer.from(bearerOf(request), 'utf8');
  const expected = Buffer.from(adminToken, 'utf8');
  // Compare equal-length buffers so the time does not depend on where they differ.
  const same = given.length === expected.length && timingSafeEqual(given, expected);
  // Its own code: the developer messages of `unauthorized` point at project credentials, which
  // the admin API does not take.
  if (!same) throw adminUnauthorized(given.length === 0);
  authenticated(request);
}

function adminUnauthorized(missing: boolean): ApiError {
  return new ApiError(
    'admin_unauthorized',
    missing
      ? 'The admin API needs Authorization: Bearer <admin token>.'
      : 'The bearer token is not the admin token.',
  );
}

/**
 * How the admin API checks its callers: against RELEVO_ADMIN_TOKEN when it is set, else against
 * the token stored in the database (read at every call, so `relevo admin-token reset` takes
 * effect on every node at once; the admin API is rarely called). A database without a token
 * means the admin API is off.
 */
export function adminAuthenticator(
  adminToken: string | undefined,
  queries: Queries,
): (request: FastifyRequest) => Promise<void> {
  if (adminToken !== undefined) return async (request) => authenticateAdmin(request, adminToken);
  return async (request) => {
    const given = bearerOf(request);
    const outcome = await checkStoredAdminToken(queries, given);
    if (outcome === 'none') {
      throw new ApiError(
        'admin_api_disabled',
        'The admin API is off: its database has no admin token. Run `relevo admin-token reset` to create one, or set RELEVO_ADMIN_TOKEN.',
      );
    }
    if (outcome === 'wrong') throw adminUnauthorized(given === '');
    authenticated(request);
  };
}
