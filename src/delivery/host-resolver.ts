/**
 * Name resolution for webhook hosts, built so that a DNS server that never answers holds up only
 * the names it serves, never anyone else's.
 *
 * `dns.lookup` (getaddrinfo) runs on libuv's thread pool — four threads for the whole process —
 * and cannot be cancelled: 64 attempts to a name whose server stays silent held every thread, so
 * every other integration's lookups waited, API calls that check a webhook URL failed, and the
 * threads stayed blocked after DNS came back. This resolver asks DNS with c-ares
 * (`dns.promises.Resolver`), which sends its queries from the event loop and can be cancelled:
 *
 * - **Bounded**: a lookup gives up after `deadlineMs` (3 s), time spent queueing included; DNS
 *   queries are cancelled 3 s after they were sent (a query started for a queued lookup keeps its
 *   whole 3 s: everyone shares its answer).
 * - **Cached**: answers are kept for their TTL, clamped to 1 s .. 5 min; "no such name" for 5 s,
 *   and a failure (timeout, SERVFAIL, refused) for 1 s, so a burst of attempts to a dead name
 *   asks once, and a name that starts answering is used within a second.
 * - **Shared**: lookups of one name already under way are joined, not repeated.
 * - **Fair**: each owner (an integration, or the project whose URL is checked) runs at most 4
 *   lookups at once; its further lookups wait in its own queue, never in anyone else's.
 *
 * c-ares does not read /etc/hosts, so this does: names listed there are answered from it (as
 * glibc's default "files, then dns" order would), the file being read again when its
 * modification time changes. `localhost` and `*.localhost` are loopback (RFC 6761) unless the
 * file says otherwise. Other NSS sources (mDNS, LDAP, nsswitch.conf's order) are not consulted.
 */
import { promises as dns, type RecordWithTtl } from 'node:dns';
import { readFileSync, statSync } from 'node:fs';
import { isIP, isIPv4 } from 'node:net';

export interface HostResolverOptions {
  /** DNS servers (`1.2.3.4`, `1.2.3.4:5353`, `[::1]:53`); empty: the system's (/etc/resolv.conf). */
  readonly servers?: readonly string[];
  /** Read before DNS; /etc/hosts by default. */
  readonly hostsFile?: string;
  /** The longest one lookup takes, queueing included. */
  readonly deadlineMs?: number;
  readonly clock?: () => number;
}

/**
 * 3 s: room for c-ares to ask twice (it asks again 1 s after the first query in older versions,
 * 2 s in 1.34, Node 20's: its back-off doubles TRY_MS), so one lost UDP packet does not fail a
 * lookup; far below the 15 s attempt timeout.
 */
const DEADLINE_MS = 3_000;
/** c-ares' wait for one answer before it asks again (or asks the next server), before back-off. */
const TRY_MS = 1_000;
const TRIES = 2;
/** Once one family (A or AAAA) has answered, the other gets this much longer, then is dropped. */
const SECOND_FAMILY_GRACE_MS = 250;
const MIN_TTL_MS = 1_000;
const MAX_TTL_MS = 5 * 60_000;
/** "No such name" (NXDOMAIN, or no A or AAAA record). */
const NEGATIVE_TTL_MS = 5_000;
/** DNS not working: asked again after this, so a recovered server is used within a second. */
const FAILURE_TTL_MS = 1_000;
const PER_OWNER = 4;
/** Names cached at most; the oldest goes first. */
const CACHE_MAX = 10_000;
/** The hosts file's modification time is looked at most this often. */
const HOSTS_CHECK_MS = 1_000;

/**
 * c-ares answers that mean "the name has no address", not "DNS is not working". EBADNAME is a
 * name DNS cannot carry (a label over 63 bytes, 254 in all), which the URL parser lets through:
 * getaddrinfo called it ENOTFOUND, and asking again will not help.
 */
const NO_ADDRESS = new Set(['ENOTFOUND', 'ENODATA', 'EBADNAME']);

/** Addresses with how long to keep them, or the error code. */
type Answer = { readonly addresses: readonly string[]; readonly ttlMs: number } | { readonly code: string };
interface Cached {
  readonly answer: Answer;
  readonly until: number;
}
interface Waiter {
  readonly name: string;
  readonly owner: string;
  /** When its asker stops waiting (`clock` time). */
  readonly deadline: number;
  readonly settle: (answer: Answer) => void;
  timer?: NodeJS.Timeout;
}

export class HostResolver {
  private readonly servers: readonly string[];
  private readonly hostsFile: string;
  private readonly deadlineMs: number;
  private readonly clock: () => number;
  private readonly cache = new Map<string, Cached>();
  /** Lookups under way, by name: a second asker joins. */
  private readonly running = new Map<string, Promise<Answer>>();
  /** Lookups under way per owner, and the owner's waiting ones. */
  private readonly busy = new Map<string, number>();
  private readonly queued = new Map<string, Waiter[]>();
  private hosts = new Map<string, string[]>();
  private hostsStamp = '';
  private hostsCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(options: HostResolverOptions = {}) {
    this.servers = options.servers ?? [];
    // Refuses a malformed server list now rather than at the first lookup.
    if (this.servers.length > 0) new dns.Resolver().setServers(this.servers);
    this.hostsFile = options.hostsFile ?? '/etc/hosts';
    this.deadlineMs = options.deadlineMs ?? DEADLINE_MS;
    this.clock = options.clock ?? Date.now;
  }

  /**
   * The addresses of `host` (IPv4 first), or a rejection whose `code` is ENOTFOUND (no such
   * name, or no address), ETIMEOUT (no answer within the deadline) or c-ares' code for another
   * DNS failure (ESERVFAIL, EREFUSED, ECONNREFUSED…). `owner` is whose lookup it is, for fairness.
   */
  lookup(host: string, owner = ''): Promise<string[]> {
    return this.answer(host, owner).then((a) => {
      if ('addresses' in a) return [...a.addresses];
      throw dnsError(a.code, host, this.deadlineMs);
    });
  }

  /** The same, as checkWebhookUrl takes it. */
  readonly resolve = (host: string, owner?: string): Promise<string[]> => this.lookup(host, owner);

  private answer(host: string, owner: string): Promise<Answer> {
    const name = normalise(host);
    if (isIP(name) !== 0) return Promise.resolve({ addresses: [name], ttlMs: 0 });
    const listed = this.fromHostsFile(name);
    if (listed !== undefined) return Promise.resolve({ addresses: listed, ttlMs: 0 });
    const known = this.cached(name);
    if (known !== undefined) return Promise.resolve(known);
    const under = this.running.get(name);
    if (under !== undefined) return under;
    return new Promise<Answer>((settle) => {
      const waiter: Waiter = { name, owner, deadline: this.clock() + this.deadlineMs, settle };
      if ((this.busy.get(owner) ?? 0) < PER_OWNER) {
        this.start(waiter);
        return;
      }
      let queue = this.queued.get(owner);
      if (queue === undefined) {
        queue = [];
        this.queued.set(owner, queue);
      }
      queue.push(waiter);
      // Ends the wait at the deadline, whether still queued or started meanwhile.
      waiter.timer = setTimeout(() => {
        const q = this.queued.get(owner);
        const at = q?.indexOf(waiter) ?? -1;
        if (q !== undefined && at !== -1) q.splice(at, 1);
        if (q?.length === 0) this.queued.delete(owner);
        settle({ code: 'ETIMEOUT' });
      }, this.deadlineMs);
      waiter.timer.unref();
    });
  }

  private cached(name: string): Answer | undefined {
    const c = this.cache.get(name);
    if (c === undefined) return undefined;
    if (c.until > this.clock()) return c.answer;
    this.cache.delete(name);
    return undefined;
  }

  /**
   * Runs `w`'s lookup in one of its owner's slots (or answers it, if that became possible). The
   * query gets the whole deadline even when `w` waited in the queue first: its answer is cached
   * and joined by everyone, so it must not time out early on what was left of one owner's wait.
   * A queued `w` still settles at its own deadline, by the timer set when it was queued.
   */
  private start(w: Waiter): void {
    const known = this.cached(w.name) ?? this.running.get(w.name);
    if (known !== undefined) {
      void Promise.resolve(known).then((answer) => this.settled(w, answer));
      return;
    }
    this.busy.set(w.owner, (this.busy.get(w.owner) ?? 0) + 1);
    const run = this.query(w.name, this.deadlineMs).then((answer) => {
      this.running.delete(w.name);
      this.remember(w.name, answer);
      this.release(w.owner);
      return answer;
    });
    this.running.set(w.name, run);
    void run.then((answer) => this.settled(w, answer));
  }

  private settled(w: Waiter, answer: Answer): void {
    clearTimeout(w.timer);
    w.settle(answer);
  }

  /**
   * Frees one of `owner`'s turns and hands its free turns to its queue. A loop, not one hand-over:
   * a waiter whose name was answered meanwhile settles without taking a turn, and the one behind
   * it must not then wait for the owner's slow lookups to end.
   */
  private release(owner: string): void {
    const n = (this.busy.get(owner) ?? 1) - 1;
    if (n <= 0) this.busy.delete(owner);
    else this.busy.set(owner, n);
    const queue = this.queued.get(owner);
    while (queue !== undefined && queue.length > 0 && (this.busy.get(owner) ?? 0) < PER_OWNER) {
      const next = queue.shift();
      if (next === undefined) break;
      // Its wait is over (its timer is due in this same turn of the loop): a query for it would
      // hold a turn for 3 s on behalf of nobody.
      if (next.deadline <= this.clock()) this.settled(next, { code: 'ETIMEOUT' });
      else this.start(next);
    }
    if (queue?.length === 0) this.queued.delete(owner);
  }

  private remember(name: string, answer: Answer): void {
    let ttl = FAILURE_TTL_MS;
    if ('addresses' in answer) ttl = answer.ttlMs;
    else if (answer.code === 'ENOTFOUND') ttl = NEGATIVE_TTL_MS;
    if (this.cache.size >= CACHE_MAX) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.delete(name);
    this.cache.set(name, { answer, until: this.clock() + ttl });
  }

  /**
   * Asks for A and AAAA at once on a resolver of its own, so that cancelling it at the deadline
   * cancels only this lookup.
   */
  private query(name: string, deadlineMs: number): Promise<Answer> {
    const r = new dns.Resolver({ timeout: TRY_MS, tries: TRIES });
    if (this.servers.length > 0) r.setServers(this.servers);
    return new Promise<Answer>((settle) => {
      type Part = { records: RecordWithTtl[] } | { code: string } | undefined;
      const parts: [Part, Part] = [undefined, undefined];
      let done = false;
      let grace: NodeJS.Timeout | undefined;
      const finish = (timedOut: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        clearTimeout(grace);
        r.cancel();
        settle(combine(parts, timedOut));
      };
      // Unreferenced: a lookup does not keep a stopping process alive.
      const deadline = setTimeout(() => finish(true), deadlineMs);
      deadline.unref();
      const onPart = (i: 0 | 1, part: NonNullable<Part>) => {
        parts[i] = part;
        if (parts[0] !== undefined && parts[1] !== undefined) finish(false);
        else if ('records' in part && part.records.length > 0 && grace === undefined) {
          grace = setTimeout(() => finish(true), SECOND_FAMILY_GRACE_MS);
          grace.unref();
        }
      };
      const ask = (i: 0 | 1, q: Promise<RecordWithTtl[]>) =>
        q.then(
          (records) => onPart(i, { records }),
          (e: unknown) => onPart(i, { code: codeOf(e) }),
        );
      void ask(0, r.resolve4(name, { ttl: true }));
      void ask(1, r.resolve6(name, { ttl: true }));
    });
  }

  /** The addresses /etc/hosts gives `name`, re-reading the file when it changed. */
  private fromHostsFile(name: string): string[] | undefined {
    const now = this.clock();
    if (now - this.hostsCheckedAt >= HOSTS_CHECK_MS) {
      this.hostsCheckedAt = now;
      this.reloadHosts();
    }
    const listed = this.hosts.get(name);
    if (listed !== undefined) return listed;
    if (name === 'localhost' || name.endsWith('.localhost')) return ['127.0.0.1', '::1'];
    return undefined;
  }

  private reloadHosts(): void {
    let stamp: string;
    try {
      const st = statSync(this.hostsFile);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.hostsStamp) return;
    this.hostsStamp = stamp;
    let text = '';
    try {
      text = readFileSync(this.hostsFile, 'utf8');
    } catch {
      // No hosts file (or unreadable): every name goes to DNS.
    }
    this.hosts = parseHostsFile(text);
  }
}

/** `/etc/hosts` as name → addresses, in the file's order (a name may have several lines). */
export function parseHostsFile(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [address = '', ...names] = line.split(/\s+/);
    // A zone (fe80::1%eth0) is kept: the network policy reads the address without it.
    if (isIP(address.split('%')[0] ?? '') === 0) continue;
    for (const n of names) {
      const name = normalise(n);
      const list = out.get(name);
      if (list === undefined) out.set(name, [address]);
      else if (!list.includes(address)) list.push(address);
    }
  }
  for (const [name, list] of out)
    out.set(name, [...list.filter((a) => isIPv4(a)), ...list.filter((a) => !isIPv4(a))]);
  return out;
}

function normalise(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function codeOf(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'EDNS';
}

/**
 * One answer from the A and AAAA parts: whatever addresses came (IPv4 first), with the shortest
 * TTL among them; else "no such name" when both said so; else the failure.
 */
function combine(
  parts: readonly ({ records: RecordWithTtl[] } | { code: string } | undefined)[],
  timedOut: boolean,
): Answer {
  const records = parts.flatMap((p) => (p !== undefined && 'records' in p ? p.records : []));
  if (records.length > 0) {
    const ttl = Math.min(...records.map((r) => r.ttl)) * 1000;
    return {
      addresses: records.map((r) => r.address),
      ttlMs: Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, ttl)),
    };
  }
  const codes = parts.map((p) => (p === undefined ? 'ETIMEOUT' : 'code' in p ? p.code : 'ENODATA'));
  if (codes.every((c) => NO_ADDRESS.has(c))) return { code: 'ENOTFOUND' };
  if (timedOut) return { code: 'ETIMEOUT' };
  return { code: codes.find((c) => !NO_ADDRESS.has(c) && c !== 'ECANCELLED') ?? 'ETIMEOUT' };
}

function dnsError(code: string, host: string, deadlineMs: number): Error {
  const why =
    code === 'ENOTFOUND'
      ? 'has no address'
      : code === 'ETIMEOUT'
        ? `got no DNS answer within ${deadlineMs} ms`
        : `could not be resolved (${code})`;
  return Object.assign(new Error(`${host} ${why}`), { code, hostname: host });
}
