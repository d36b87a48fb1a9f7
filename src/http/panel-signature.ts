/**
 * The signature of a send-message request (api.md §4.10): `X-Jelou-Signature` over the raw body,
 * keyed with the signingSecret of the integration of the body's `project_id`. Checked once per
 * request: the idempotency hook needs the project (to scope the key) before the route runs, and
 * the route needs the verdict; both get this one answer.
 */
import type { FastifyRequest } from 'fastify';
import { verifyJelouSignature } from '../delivery/signer.js';
import { panelSigningSecret } from '../domain/messages/panel-message.service.js';
import type { Queries } from '../storage/store.js';
import { rawBodyOf } from './json-body-parser.js';
import { authenticated } from './rate-limit.js';

export interface PanelSignature {
  /** The body's project, when the signature is valid for it; undefined otherwise. */
  readonly projectId: string | undefined;
}

/**
 * A key to sign with when the body names no usable project: the comparison still runs, so the
 * answer takes about as long whether or not the project exists.
 */
const NO_SECRET = 'no project: this key signs nothing';

const checked = new WeakMap<FastifyRequest, Promise<PanelSignature>>();

export function panelSignature(request: FastifyRequest, queries: Queries): Promise<PanelSignature> {
  let verdict = checked.get(request);
  if (verdict === undefined) {
    verdict = check(request, queries);
    checked.set(request, verdict);
  }
  return verdict;
}

async function check(request: FastifyRequest, queries: Queries): Promise<PanelSignature> {
  const secret = await panelSigningSecret(queries, request.body);
  const valid = verifyJelouSignature(
    rawBodyOf(request),
    request.headers['x-jelou-signature'],
    secret ?? NO_SECRET,
  );
  if (secret === undefined || !valid) return { projectId: undefined };
  authenticated(request);
  return { projectId: (request.body as { project_id: string }).project_id };
}
