/** Idempotency keys: claims, stored answers (their bodies sealed here: they may carry secrets) and their purge. */
import type { SecretBox } from '../secret-box.js';
import type { SqlExecutor } from './executor.js';

export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly state: 'in_flight' | 'done';
  readonly response: StoredResponse | null;
}

export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface IdempotencyClaim extends IdempotencyHold {
  /** Hash of what makes two requests "the same": method, route and body. */
  readonly requestHash: string;
  readonly now: number;
  /** Until when the claim is the holder's (a holder that dies gives it up at this time). */
  readonly lockedUntil: number;
  readonly expiresAt: number;
}

/** A claim as its holder knows it: completing or releasing it needs the holder's token. */
export interface IdempotencyHold extends IdempotencyId {
  /** Random per claim; a claim taken over gets a new one. */
  readonly holder: string;
}

export interface IdempotencyId {
  readonly projectId: string;
  readonly route: string;
  readonly key: string;
}

export class IdempotencyQueries {
  constructor(
    private readonly x: SqlExecutor,
    /** Seals stored response bodies (they may carry secrets). */
    private readonly box: SecretBox,
  ) {}
  /**
   * Claims `key` for a new request, or returns the record already there. A claim whose holder
   * died (locked_until passed) is taken over, so a crash mid-request does not block the key.
   */
  async claim(
    c: IdempotencyClaim,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    // A row purged between our statements (it had expired) leaves nothing to read: claim again,
    // now with nothing in the way, rather than run the request without a claim.
    for (let tries = 1; ; tries++) {
      const outcome = await this.claimIdempotencyKeyOnce(c);
      if (outcome !== undefined || tries >= 3) return outcome ?? { claimed: true };
    }
  }
  private async claimIdempotencyKeyOnce(
    c: IdempotencyClaim,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord } | undefined> {
    const inserted = await this.x.run(
      `INSERT INTO idempotency_keys (project_id, route, idem_key, request_hash, state, locked_until, created_at, expires_at,
         holder) VALUES (?, ?, ?, ?, 'in_flight', ?, ?, ?, ?) ON CONFLICT (project_id, route, idem_key) DO NOTHING`,
      c.projectId,
      c.route,
      c.key,
      c.requestHash,
      c.lockedUntil,
      c.now,
      c.expiresAt,
      c.holder,
    );
    if (inserted > 0) return { claimed: true };
    // Taken over when its holder died (still in flight past its lock) or it expired.
    const taken = await this.x.run(
      `UPDATE idempotency_keys SET request_hash = ?, state = 'in_flight', locked_until = ?, response_status = NULL,
         response_headers = NULL, response_body = NULL, created_at = ?, expires_at = ?, holder = ?
       WHERE project_id = ? AND route = ? AND idem_key = ?
         AND ((state = 'in_flight' AND locked_until < ?) OR expires_at < ?)`,
      c.requestHash,
      c.lockedUntil,
      c.now,
      c.expiresAt,
      c.holder,
      c.projectId,
      c.route,
      c.key,
      c.now,
      c.now,
    );
    if (taken > 0) return { claimed: true };
    const r = await this.x.one<{
      request_hash: string;
      state: string;
      response_status: number | null;
      response_headers: string | null;
      response_body: string | null;
    }>(
      'SELECT request_hash, state, response_status, response_headers, response_body FROM idempotency_keys WHERE project_id = ? AND route = ? AND idem_key = ?',
      c.projectId,
      c.route,
      c.key,
    );
    if (r === undefined) return undefined;
    return {
      claimed: false,
      record: {
        requestHash: r.request_hash,
        state: r.state === 'done' ? 'done' : 'in_flight',
        response:
          r.response_status === null
            ? null
            : {
                status: Number(r.response_status),
                headers: JSON.parse(r.response_headers ?? '{}') as Record<string, string>,
                body: this.box.open(r.response_body ?? ''),
              },
      },
    };
  }
  /** Stores the answer, if `hold` still holds the claim (one taken over is not overwritten). */
  async complete(id: IdempotencyHold, response: StoredResponse): Promise<void> {
    await this.x.run(
      `UPDATE idempotency_keys SET state = 'done', locked_until = NULL, response_status = ?, response_headers = ?,
         response_body = ? WHERE project_id = ? AND route = ? AND idem_key = ? AND holder = ?`,
      response.status,
      JSON.stringify(response.headers),
      // A stored first response may show a secret once (signingSecret, apiKey): encrypted.
      this.box.seal(response.body),
      id.projectId,
      id.route,
      id.key,
      id.holder,
    );
  }
  /**
   * Forgets a claim whose request failed in a way worth retrying (5xx): the key may be used
   * again. Only while `hold` still holds it.
   */
  async release(id: IdempotencyHold): Promise<void> {
    await this.x.run(
      "DELETE FROM idempotency_keys WHERE project_id = ? AND route = ? AND idem_key = ? AND state = 'in_flight' AND holder = ?",
      id.projectId,
      id.route,
      id.key,
      id.holder,
    );
  }
  /** Deletes records past their retention; returns how many. */
  async purge(now: number): Promise<number> {
    return await this.x.run('DELETE FROM idempotency_keys WHERE expires_at < ?', now);
  }
}
