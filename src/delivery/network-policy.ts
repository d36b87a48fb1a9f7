/**
 * The webhook network policy (docs/webhooks.md, "Network policy and DNS"): relevo posts to URLs its API
 * callers choose, so without a policy any caller could make the server reach its own loopback,
 * the private network around it or a cloud metadata service (SSRF). A URL is checked when an
 * integration is created or updated, and every resolved address is checked again when the
 * sender connects, because DNS may answer differently the second time (rebinding).
 *
 * Addresses are handled as bigints (32 bits for IPv4, 128 for IPv6) so that every range test is
 * one shift and compare, and IPv6 forms that embed an IPv4 address are unwrapped here rather
 * than trusted to a library's idea of what "IPv4-mapped" means.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../config.js';
import { HostResolver } from './host-resolver.js';

type Family = 4 | 6;

interface Address {
  readonly family: Family;
  readonly value: bigint;
}

interface Cidr {
  readonly family: Family;
  readonly base: bigint;
  readonly prefix: number;
}

/** Operator exemptions from the policy (RELEVO_WEBHOOK_ALLOW), parsed once at start-up. */
export interface AllowList {
  /** Lower-case host names without a trailing dot, matched exactly. */
  readonly hosts: ReadonlySet<string>;
  readonly ranges: readonly Cidr[];
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * Resolves a host name to its addresses (the whole answer, not just the first); `owner` is whose
 * lookup it is (the project), so that one owner's dead DNS cannot take the others' turns.
 */
export type Resolver = (host: string, owner?: string) => Promise<string[]>;

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** The tail of every refusal: what the policy is and how an operator lifts it. */
const POLICY =
  'relevo refuses loopback, private, link-local, CGNAT, multicast, reserved and cloud-metadata ' +
  'addresses unless RELEVO_WEBHOOK_ALLOW lists them';

// ---------------------------------------------------------------------------------------------
// Parsing

function parseIPv4(text: string): bigint | undefined {
  if (!isIPv4(text)) return undefined;
  let value = 0n;
  for (const part of text.split('.')) value = (value << 8n) | BigInt(Number(part));
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (!isIPv6(text)) return undefined;
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const tail: bigint[] = [];
  let rest = text;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail.push(v4 >> 16n, v4 & 0xffffn);
    rest = text.slice(0, lastColon + 1);
    if (!rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const groupsOf = (s: string): bigint[] => (s === '' ? [] : s.split(':').map((g) => BigInt(`0x${g}`)));
  let groups: bigint[];
  const gap = rest.indexOf('::');
  if (gap === -1) {
    groups = [...groupsOf(rest), ...tail];
  } else {
    const left = groupsOf(rest.slice(0, gap));
    const right = [...groupsOf(rest.slice(gap + 2)), ...tail];
    const zeros: bigint[] = Array.from({ length: 8 - left.length - right.length }, () => 0n);
    groups = [...left, ...zeros, ...right];
  }
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/**
 * A literal address as it may appear in a URL host, a DNS answer or the allow list: brackets
 * and an IPv6 zone (`fe80::1%eth0`, which DNS answers may carry) are ignored.
 */
function parseAddress(text: string): Address | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone !== -1 && t.includes(':')) t = t.slice(0, zone);
  const v4 = parseIPv4(t);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(t);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

function cidr(text: string): Cidr {
  const [ip = '', len = ''] = text.split('/');
  const a = parseAddress(ip);
  if (a === undefined) throw new Error(`bad built-in range ${text}`);
  return masked(a, Number(len));
}

function masked(a: Address, prefix: number): Cidr {
  const shift = BigInt(BITS[a.family] - prefix);
  return { family: a.family, base: (a.value >> shift) << shift, prefix };
}

function contains(range: Cidr, a: Address): boolean {
  if (range.family !== a.family) return false;
  const shift = BigInt(BITS[a.family] - range.prefix);
  return a.value >> shift === range.base >> shift;
}

// ---------------------------------------------------------------------------------------------
// Classification. Each table is searched in order, so a narrower range comes before the range
// that contains it (169.254.169.254 before 169.254.0.0/16). Sources: the IANA IPv4 and IPv6
// Special-Purpose Address Registries (RFC 6890 and successors) and the cloud providers' docs.

const V4_RANGES: ReadonlyArray<readonly [Cidr, string]> = (
  [
    ['0.0.0.0/8', 'unspecified'],
    ['10.0.0.0/8', 'private'],
    // Alibaba Cloud's metadata service sits inside the CGNAT range.
    ['100.100.100.200/32', 'cloud metadata'],
    ['100.64.0.0/10', 'CGNAT'],
    ['127.0.0.0/8', 'loopback'],
    // AWS, GCP, Azure, OCI and others (IMDS); 169.254.170.2 is the AWS ECS task credentials endpoint.
    ['169.254.169.254/32', 'cloud metadata'],
    ['169.254.170.2/32', 'cloud metadata'],
    ['169.254.0.0/16', 'link-local'],
    // Azure's WireServer: a public-looking address, reachable only from inside Azure, that
    // serves platform configuration to the VM.
    ['168.63.129.16/32', 'cloud metadata'],
    ['172.16.0.0/12', 'private'],
    // Oracle Cloud's legacy metadata address.
    ['192.0.0.192/32', 'cloud metadata'],
    ['192.0.0.0/24', 'IETF protocol assignment'],
    ['192.0.2.0/24', 'documentation'],
    ['192.88.99.0/24', 'deprecated 6to4 relay'],
    ['192.168.0.0/16', 'private'],
    ['198.18.0.0/15', 'benchmarking'],
    ['198.51.100.0/24', 'documentation'],
    ['203.0.113.0/24', 'documentation'],
    ['224.0.0.0/4', 'multicast'],
    ['255.255.255.255/32', 'broadcast'],
    ['240.0.0.0/4', 'reserved'],
  ] as const
).map(([r, why]) => [cidr(r), why] as const);

const V6_RANGES: ReadonlyArray<readonly [Cidr, string]> = (
  [
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    ['::/96', 'deprecated IPv4-compatible'],
    ['64:ff9b:1::/48', 'local-use NAT64'],
    ['100::/64', 'discard-only'],
    ['2001:db8::/32', 'documentation'],
    ['3fff::/20', 'documentation'],
    ['2001::/23', 'IETF protocol assignment'],
    // AWS's IPv6 metadata service (Nitro instances).
    ['fd00:ec2::254/128', 'cloud metadata'],
    ['fc00::/7', 'private (unique local)'],
    ['fe80::/10', 'link-local'],
    ['fec0::/10', 'deprecated site-local'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([r, why]) => [cidr(r), why] as const);

const IPV4_MAPPED = cidr('::ffff:0:0/96');
const NAT64 = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
/** All of IPv6 that IANA has allocated for global unicast; anything else is not a destination. */
const GLOBAL_UNICAST = cidr('2000::/3');

function classifyV4(value: bigint): string | undefined {
  const a: Address = { family: 4, value };
  return V4_RANGES.find(([r]) => contains(r, a))?.[1];
}

function classifyParsed(a: Address): string | undefined {
  if (a.family === 4) return classifyV4(a.value);
  // Forms that carry an IPv4 address reach (or are translated to) that address: judge it.
  const embedded = (label: string, v4: bigint): string | undefined => {
    const inner = classifyV4(v4 & 0xffffffffn);
    return inner === undefined ? undefined : `${label} ${inner}`;
  };
  if (contains(IPV4_MAPPED, a)) return embedded('IPv4-mapped', a.value);
  if (contains(NAT64, a)) return embedded('NAT64', a.value);
  // 2002:AABB:CCDD::/48 is the 6to4 network of AA.BB.CC.DD (RFC 3056): bits 16..47.
  if (contains(SIX_TO_FOUR, a)) return embedded('6to4', a.value >> 80n);
  const found = V6_RANGES.find(([r]) => contains(r, a))?.[1];
  if (found !== undefined) return found;
  return contains(GLOBAL_UNICAST, a) ? undefined : 'reserved';
}

/**
 * Why a literal IP address may not receive webhooks ('loopback', 'private', 'IPv4-mapped
 * loopback', …), or undefined when it is a public address. Text that is not an IP address is
 * refused as 'unparseable' rather than waved through.
 */
export function classifyAddress(ip: string): string | undefined {
  const a = parseAddress(ip);
  return a === undefined ? 'unparseable' : classifyParsed(a);
}

// ---------------------------------------------------------------------------------------------
// The allow list

const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** A plain DNS name that a URL would keep as written (so `0177.0.0.1` or `127.1` are not names). */
function isHostName(entry: string): boolean {
  if (entry.length === 0 || entry.length > 253) return false;
  if (!entry.split('.').every((label) => HOST_LABEL.test(label))) return false;
  try {
    return normaliseHost(new URL(`http://${entry}/`).hostname) === entry;
  } catch {
    return false;
  }
}

function badEntry(entry: string, why: string): ConfigError {
  return new ConfigError(
    `RELEVO_WEBHOOK_ALLOW: ${JSON.stringify(entry)} ${why}; write comma-separated CIDRs, IP addresses or host names, e.g. 127.0.0.0/8,::1,hooks.internal.`,
  );
}

/**
 * Parses RELEVO_WEBHOOK_ALLOW entries: CIDRs (`10.0.0.0/8`, `fd00::/8`), single addresses
 * (`::1`), or exact host names (case-insensitive). A CIDR's host bits are ignored, as routers
 * do (`10.1.2.3/8` is `10.0.0.0/8`). An IPv4-mapped IPv6 range is stored as the IPv4 range it
 * covers, so `::ffff:127.0.0.1` and `127.0.0.1` mean the same thing. Throws ConfigError.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const ranges: Cidr[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    if (slash !== -1) {
      const a = parseAddress(entry.slice(0, slash));
      const len = entry.slice(slash + 1);
      if (a === undefined)
        throw badEntry(entry, 'is not a valid CIDR (the part before / is not an IP address)');
      const max = BITS[a.family];
      if (!/^\d{1,3}$/.test(len) || Number(len) > max) {
        throw badEntry(
          entry,
          `is not a valid CIDR (the prefix length of an IPv${a.family} range is 0 to ${max})`,
        );
      }
      ranges.push(unmapRange(masked(a, Number(len))));
      continue;
    }
    const a = parseAddress(entry);
    if (a !== undefined) {
      ranges.push(unmapRange(masked(a, BITS[a.family])));
      continue;
    }
    const host = normaliseHost(entry);
    if (!isHostName(host)) throw badEntry(entry, 'is not a CIDR, an IP address or a host name');
    hosts.add(host);
  }
  return { hosts, ranges };
}

function unmapRange(r: Cidr): Cidr {
  if (r.family === 6 && r.prefix >= 96 && contains(IPV4_MAPPED, { family: 6, value: r.base })) {
    return { family: 4, base: r.base & 0xffffffffn, prefix: r.prefix - 96 };
  }
  return r;
}

/** The address a connection really reaches: an IPv4-mapped IPv6 address is its IPv4 address. */
function unmap(a: Address): Address {
  return a.family === 6 && contains(IPV4_MAPPED, a) ? { family: 4, value: a.value & 0xffffffffn } : a;
}

function addressAllowed(a: Address, allow: AllowList): boolean {
  const target = unmap(a);
  return allow.ranges.some((r) => contains(r, target));
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

// ---------------------------------------------------------------------------------------------
// Checks

/**
 * At connect time: may the sender connect to `address`, which `host` resolved to? Returns the
 * reason when not (a sentence without a subject, e.g. "host a.example resolves to 10.0.0.5, a
 * private address; …"), or undefined when the host or the address is allowed or public.
 */
export function checkResolvedAddress(host: string, address: string, allow: AllowList): string | undefined {
  const name = normaliseHost(host);
  if (allow.hosts.has(name)) return undefined;
  const a = parseAddress(address);
  if (a === undefined)
    return `host ${name} resolves to ${JSON.stringify(address)}, which is not an IP address`;
  if (addressAllowed(a, allow)) return undefined;
  const why = classifyParsed(a);
  if (why === undefined) return undefined;
  const literal = parseAddress(name) !== undefined;
  return literal
    ? `host ${name} is ${article(why)} ${why} address; ${POLICY}`
    : `host ${name} resolves to ${address}, ${article(why)} ${why} address; ${POLICY}`;
}

/** The system's DNS (host-resolver.ts), for callers that were not given a resolver. */
let systemResolver: HostResolver | undefined;
const defaultResolve: Resolver = (host, owner) => {
  systemResolver ??= new HostResolver();
  return systemResolver.lookup(host, owner);
};

/** DNS answers that mean "this name has no address", as opposed to "DNS is not working". */
const NO_SUCH_HOST = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * Checks a webhook URL before it is stored: an absolute http(s) URL with a host and without
 * credentials, whose host is allowed or resolves only to public addresses (one forbidden
 * address in the answer is enough to refuse, since the sender might connect to any of them).
 * WHATWG URL parsing has already normalised numeric hosts (2130706433, 0177.0.0.1, 0x7f.1,
 * [::ffff:127.0.0.1]) to their canonical form, which is what is checked. The reason, when
 * refused, is phrased to follow the field name: "webhookUrl <reason>".
 */
export async function checkWebhookUrl(
  raw: string,
  allow: AllowList,
  resolve: Resolver = defaultResolve,
  /** Whose URL it is (the project id): its lookups queue apart from other projects'. */
  owner?: string,
): Promise<UrlCheck> {
  const refuse = (reason: string): UrlCheck => ({ ok: false, reason });
  // The URL parser silently drops tabs and newlines and trims spaces; refusing them keeps what
  // is stored equal to what is checked and connected to.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return refuse('must not contain spaces or control characters');
  if (!/^https?:\/\//i.test(raw)) {
    return refuse('must be an absolute http or https URL, e.g. https://panel.example.com/jelou/events');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') {
    return refuse(
      'must not contain credentials (user:password@host); set authType and authorization instead',
    );
  }
  const host = normaliseHost(url.hostname);
  if (host === '') return refuse('must have a host');
  if (allow.hosts.has(host)) return { ok: true, url };

  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await resolve(host, owner);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && NO_SUCH_HOST.has(code)) {
        return refuse(`host ${host} does not resolve to any address; check the host name`);
      }
      return refuse(
        `host ${host} could not be resolved (${typeof code === 'string' ? code : 'DNS error'}); try again in a moment`,
      );
    }
    if (addresses.length === 0)
      return refuse(`host ${host} does not resolve to any address; check the host name`);
  }
  for (const address of addresses) {
    const why = checkResolvedAddress(host, address, allow);
    if (why !== undefined) return refuse(why);
  }
  return { ok: true, url };
}
