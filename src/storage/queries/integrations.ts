/** A project's integration (its webhook and secrets, sealed here) and its failure clock. */

import { randomBytes } from 'node:crypto';
import type { AuthType, Integration } from '../../model/types.js';
import type { SecretBox } from '../secret-box.js';
import type { SqlExecutor } from './executor.js';

export interface IntegrationPatch {
  readonly webhookUrl?: string;
  readonly authType?: Integration['authType'];
  readonly authorization?: string | null;
  readonly signingSecret?: string;
  readonly enabled?: boolean;
  readonly disabledReason?: string | null;
  readonly updatedAt: number;
}

export interface IntegrationRow {
  id: string;
  project_id: string;
  webhook_url: string;
  auth_type: string;
  authorization_value: string | null;
  signing_secret: string;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
}

export const toIntegration = (r: IntegrationRow): Integration => ({
  id: r.id,
  projectId: r.project_id,
  webhookUrl: r.webhook_url,
  authType: r.auth_type as AuthType,
  authorization: r.authorization_value,
  signingSecret: r.signing_secret,
  enabled: Number(r.enabled) === 1,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/**
 * Per box, a sealed secret of the length of real ones (32 random bytes as hex, as the domain makes them) that nobody holds: opened in place of a
 * missing signing secret, so that the lookup decrypts once either way. Sealed once per box,
 * not per transaction.
 */
const decoys = new WeakMap<SecretBox, string>();
function decoySecret(box: SecretBox): string {
  let sealed = decoys.get(box);
  if (sealed === undefined) {
    sealed = box.seal(randomBytes(32).toString('hex'));
    decoys.set(box, sealed);
  }
  return sealed;
}

export class IntegrationQueries {
  constructor(
    private readonly x: SqlExecutor,
    /** Seals authorization and signing secret on their way in, opens them on their way out. */
    private readonly box: SecretBox,
  ) {}
  async insert(i: Integration): Promise<void> {
    await this.x.guardedRun(
      `INSERT INTO integrations (id, project_id, webhook_url, auth_type, authorization_value, signing_secret, enabled,
        disabled_reason, disabled_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      i.id,
      i.projectId,
      i.webhookUrl,
      i.authType,
      this.box.seal(i.authorization),
      this.box.seal(i.signingSecret),
      i.enabled ? 1 : 0,
      i.disabledReason,
      i.disabledAt,
      i.createdAt,
      i.updatedAt,
    );
  }
  async get(projectId: string): Promise<Integration | undefined> {
    const r = await this.x.one<IntegrationRow>('SELECT * FROM integrations WHERE project_id = ?', projectId);
    if (r === undefined) return undefined;
    const i = toIntegration(r);
    return {
      ...i,
      authorization: this.box.open(i.authorization),
      signingSecret: this.box.open(i.signingSecret),
    };
  }
  /**
   * The signing secret of a project's integration, for checking an inbound signature (docs/api.md
   * §4.10). The same work whether or not there is one: one statement that always returns one
   * row, and one decryption (of a decoy when there is no secret), so that its time does not
   * tell whether a project has an integration.
   */
  async signingSecretOf(projectId: string): Promise<string | undefined> {
    // A scalar subquery: exactly one row, NULL when there is no integration.
    const r = await this.x.one<{ signing_secret: string | null }>(
      'SELECT (SELECT signing_secret FROM integrations WHERE project_id = ?) AS signing_secret',
      projectId,
    );
    const stored = r?.signing_secret ?? null;
    const opened = this.box.open(stored ?? decoySecret(this.box));
    return stored === null ? undefined : opened;
  }
  /** Whether the project has an integration, enabled or not (no secrets read or decrypted). */
  async exists(projectId: string): Promise<boolean> {
    return (
      (await this.x.one('SELECT 1 AS one FROM integrations WHERE project_id = ?', projectId)) !== undefined
    );
  }
  /** Returns the updated integration, or undefined when the project has none. */
  async update(projectId: string, patch: IntegrationPatch): Promise<Integration | undefined> {
    const sets: string[] = ['updated_at = ?'];
    const params: unknown[] = [patch.updatedAt];
    const add = (col: string, v: unknown) => {
      sets.push(`${col} = ?`);
      params.push(v);
    };
    if (patch.webhookUrl !== undefined) add('webhook_url', patch.webhookUrl);
    if (patch.authType !== undefined) add('auth_type', patch.authType);
    if (patch.authorization !== undefined) add('authorization_value', this.box.seal(patch.authorization));
    if (patch.signingSecret !== undefined) add('signing_secret', this.box.seal(patch.signingSecret));
    if (patch.enabled !== undefined) add('enabled', patch.enabled ? 1 : 0);
    // Disabling records when, once: a second disabling (an attempt that was in flight) keeps the
    // first time. Enabling forgets it.
    if (patch.enabled === false) {
      sets.push('disabled_at = COALESCE(disabled_at, ?)');
      params.push(patch.updatedAt);
    } else if (patch.enabled === true) add('disabled_at', null);
    if (patch.disabledReason !== undefined) add('disabled_reason', patch.disabledReason);
    const r = await this.x.run(
      `UPDATE integrations SET ${sets.join(', ')} WHERE project_id = ?`,
      ...params,
      projectId,
    );
    if (r === 0) return undefined;
    return this.get(projectId);
  }
  async delete(projectId: string): Promise<boolean> {
    return (await this.x.run('DELETE FROM integrations WHERE project_id = ?', projectId)) > 0;
  }
  /** Starts the failure clock if it is not running; returns when the run of failures began. */
  async noteFailure(projectId: string, at: number): Promise<number> {
    const r = await this.x.one<{ failing_since: number | null }>(
      'UPDATE integrations SET failing_since = COALESCE(failing_since, ?) WHERE project_id = ? RETURNING failing_since',
      at,
      projectId,
    );
    return r?.failing_since === null || r?.failing_since === undefined ? at : Number(r.failing_since);
  }
  async clearFailure(projectId: string): Promise<void> {
    await this.x.run(
      'UPDATE integrations SET failing_since = NULL WHERE project_id = ? AND failing_since IS NOT NULL',
      projectId,
    );
  }
}
