/**
 * How many live web chat streams one visitor may hold. Every open stream holds a socket, a room
 * subscription and up to its write buffer of memory; without a cap one anonymous session opened
 * 500 idle streams and filled the process's connection limit, so that the panel API and /healthz
 * refused connections.
 *
 *   - Per session: at most `perSession` streams. One more closes the session's oldest stream
 *     rather than being refused: a person with several tabs open is never locked out, and the
 *     oldest tab's EventSource reconnects (and then closes the next oldest) only if it is still
 *     there.
 *   - Per client address: at most `perAddress` streams across all its sessions; past it the
 *     stream is refused with 429 `rate_limited`, since new sessions are free to make.
 *
 * In memory, per process, like the other abuse limits (src/http/rate-limit.ts).
 */
import { ApiError } from '../../errors.js';

/** What an address over its cap is told to wait: a stream ends when its visitor leaves. */
export const STREAM_RETRY_AFTER_SECONDS = 30;

export interface StreamLimitOptions {
  readonly perSession: number;
  readonly perAddress: number;
}

/** One admitted stream: `release` when it ends (idempotent). */
export interface StreamTicket {
  release(): void;
}

export class StreamLimits {
  /** Each session's streams, oldest first: the function that closes each. */
  private readonly sessions = new Map<string, Array<() => void>>();
  private readonly addresses = new Map<string, number>();

  constructor(private readonly options: StreamLimitOptions) {}

  /**
   * Admits a stream of `session` from `address`, closing the session's oldest streams past its
   * cap, or throws 429 `rate_limited` when the address holds its maximum. Synchronous, so that
   * parallel requests cannot all pass the check before any is counted.
   */
  admit(session: string, address: string, close: () => void): StreamTicket {
    const held = this.addresses.get(address) ?? 0;
    if (held >= this.options.perAddress) {
      throw new ApiError(
        'rate_limited',
        `This address already holds ${this.options.perAddress} open web chat streams; close one, or retry in ${STREAM_RETRY_AFTER_SECONDS} seconds.`,
        {},
        { headers: { 'retry-after': String(STREAM_RETRY_AFTER_SECONDS) } },
      );
    }
    this.addresses.set(address, held + 1);
    let streams = this.sessions.get(session);
    if (streams === undefined) {
      streams = [];
      this.sessions.set(session, streams);
    }
    streams.push(close);
    // Out of the list first: closing also releases its ticket, which then finds nothing to take.
    while (streams.length > this.options.perSession) streams.shift()?.();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.addresses.get(address) ?? 1) - 1;
        if (left > 0) this.addresses.set(address, left);
        else this.addresses.delete(address);
        const list = this.sessions.get(session);
        if (list === undefined) return;
        const at = list.indexOf(close);
        if (at >= 0) list.splice(at, 1);
        if (list.length === 0) this.sessions.delete(session);
      },
    };
  }

  /** Open streams of one address (tests). */
  heldBy(address: string): number {
    return this.addresses.get(address) ?? 0;
  }
}
