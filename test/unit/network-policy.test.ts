import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import {
  type AllowList,
  checkResolvedAddress,
  checkWebhookUrl,
  classifyAddress,
  parseAllowList,
  type Resolver,
} from '../../src/delivery/network-policy.js';

const NONE = parseAllowList([]);
const DEV = parseAllowList(['127.0.0.0/8', '::1']);

/** A resolver with a fixed answer per host; unknown hosts fail as getaddrinfo does. */
function dns(answers: Record<string, string[]>): Resolver {
  return async (host) => {
    const found = answers[host];
    if (found === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
}

const noDns: Resolver = async (host) => {
  throw new Error(`no DNS expected in this test (asked for ${host})`);
};

async function reasonOf(url: string, allow: AllowList = NONE, resolve: Resolver = noDns) {
  const r = await checkWebhookUrl(url, allow, resolve);
  return r.ok ? undefined : r.reason;
}

describe('classifyAddress: IPv4', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.255.1.2', 'unspecified'],
    ['10.0.0.5', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.254', 'CGNAT'],
    ['100.100.100.200', 'cloud metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.170.2', 'cloud metadata'],
    ['168.63.129.16', 'cloud metadata'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF protocol assignment'],
    ['192.0.0.192', 'cloud metadata'],
    ['192.0.2.10', 'documentation'],
    ['192.88.99.1', 'deprecated 6to4 relay'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ])('%s is %s', (ip, reason) => {
    expect(classifyAddress(ip)).toBe(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    // The neighbours of every special range are public.
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.0',
    '192.0.3.0',
    '192.88.98.255',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '198.51.99.255',
    '203.0.112.255',
    '223.255.255.255',
  ])('%s is public', (ip) => {
    expect(classifyAddress(ip)).toBeUndefined();
  });

  it('refuses text that is not an address', () => {
    expect(classifyAddress('example.com')).toBe('unparseable');
    expect(classifyAddress('0177.0.0.1')).toBe('unparseable');
    expect(classifyAddress('')).toBe('unparseable');
  });
});

describe('classifyAddress: IPv6', () => {
  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::127.0.0.1', 'deprecated IPv4-compatible'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['0:0:0:0:0:ffff:10.1.2.3', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped cloud metadata'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped cloud metadata'],
    ['::ffff:0.0.0.0', 'IPv4-mapped unspecified'],
    ['64:ff9b::127.0.0.1', 'NAT64 loopback'],
    ['64:ff9b::a00:1', 'NAT64 private'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['100::1', 'discard-only'],
    ['2001::1', 'IETF protocol assignment'],
    ['2001:1ff:ffff::1', 'IETF protocol assignment'],
    ['2001:db8::1', 'documentation'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2002:7f00:1::1', '6to4 loopback'],
    ['2002:c0a8:101::', '6to4 private'],
    ['fc00::1', 'private (unique local)'],
    ['fd12:3456:789a::1', 'private (unique local)'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'deprecated site-local'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    // Outside 2000::/3 nothing is allocated for hosts.
    ['4000::1', 'reserved'],
    ['::ffff:0:7f00:1', 'reserved'],
  ])('%s is %s', (ip, reason) => {
    expect(classifyAddress(ip)).toBe(reason);
  });

  it.each([
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:200::1',
    '2001:db7:ffff::1',
    '2001:db9::1',
  ])('%s is public', (ip) => {
    expect(classifyAddress(ip)).toBeUndefined();
  });
});

describe('parseAllowList', () => {
  it('accepts CIDRs, addresses and host names, and ignores blanks', () => {
    const allow = parseAllowList([
      '127.0.0.0/8',
      ' ::1 ',
      'fd00::/8',
      '10.1.2.3',
      '',
      'Hooks.Internal',
      'panel.',
      '[::2]',
    ]);
    expect([...allow.hosts]).toEqual(['hooks.internal', 'panel']);
    expect(allow.ranges).toHaveLength(5);
  });

  it.each([
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '300.0.0.0/8',
    'example.com/24',
    '*.example.com',
    'http://hooks.internal',
    'hooks.internal:8080',
    '0177.0.0.1',
    '127.1',
    '1.2.3.4.5',
    'bad_host-.example',
    '-bad.example',
    'a..b',
    'ünicode.example',
  ])('refuses %s with one line naming RELEVO_WEBHOOK_ALLOW and the entry', (entry) => {
    let thrown: unknown;
    try {
      parseAllowList(['127.0.0.0/8', entry]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as Error).message;
    expect(message).toContain('RELEVO_WEBHOOK_ALLOW');
    expect(message).toContain(JSON.stringify(entry));
    expect(message).not.toContain('\n');
  });

  it('masks host bits of a CIDR, as routers do', () => {
    const allow = parseAllowList(['10.1.2.3/8']);
    expect(checkResolvedAddress('h', '10.200.0.1', allow)).toBeUndefined();
    expect(checkResolvedAddress('h', '11.0.0.1', allow)).toBeUndefined();
    expect(checkResolvedAddress('h', '192.168.0.1', allow)).toMatch(/private/);
  });
});

describe('checkResolvedAddress', () => {
  it('allows a forbidden address inside an allowed range, of either family', () => {
    expect(checkResolvedAddress('localhost', '127.0.0.1', DEV)).toBeUndefined();
    expect(checkResolvedAddress('localhost', '127.9.9.9', DEV)).toBeUndefined();
    expect(checkResolvedAddress('localhost', '::1', DEV)).toBeUndefined();
    // An IPv4-mapped address reaches the IPv4 address, which the IPv4 range allows.
    expect(checkResolvedAddress('localhost', '::ffff:127.0.0.1', DEV)).toBeUndefined();
    expect(checkResolvedAddress('localhost', '::2', DEV)).toMatch(/reserved/);
    expect(checkResolvedAddress('localhost', '10.0.0.1', DEV)).toMatch(/private/);
  });

  it('treats an IPv4-mapped allow entry as its IPv4 address', () => {
    const allow = parseAllowList(['::ffff:10.0.0.0/104']);
    expect(checkResolvedAddress('h', '10.9.9.9', allow)).toBeUndefined();
    expect(checkResolvedAddress('h', '::ffff:10.9.9.9', allow)).toBeUndefined();
    expect(checkResolvedAddress('h', '11.0.0.1', allow)).toBeUndefined();
    expect(checkResolvedAddress('h', '172.16.0.1', allow)).toMatch(/private/);
  });

  it('allows IPv6 ranges', () => {
    const allow = parseAllowList(['fd00::/8']);
    expect(checkResolvedAddress('h', 'fd12::1', allow)).toBeUndefined();
    expect(checkResolvedAddress('h', 'fc00::1', allow)).toMatch(/unique local/);
  });

  it('allows any address of an allowed host name, case-insensitively', () => {
    const allow = parseAllowList(['Hooks.Internal']);
    expect(checkResolvedAddress('hooks.internal', '10.0.0.1', allow)).toBeUndefined();
    expect(checkResolvedAddress('HOOKS.INTERNAL.', '169.254.169.254', allow)).toBeUndefined();
    expect(checkResolvedAddress('other.internal', '10.0.0.1', allow)).toMatch(/private/);
  });

  it('explains a refusal in one sentence naming the host, address, reason and the way out', () => {
    expect(checkResolvedAddress('intranet.example', '10.0.0.5', NONE)).toBe(
      'host intranet.example resolves to 10.0.0.5, a private address; relevo refuses loopback, private, link-local, CGNAT, multicast, reserved and cloud-metadata addresses unless RELEVO_WEBHOOK_ALLOW lists them',
    );
    expect(checkResolvedAddress('10.0.0.5', '10.0.0.5', NONE)).toMatch(
      /^host 10\.0\.0\.5 is a private address; /,
    );
    expect(checkResolvedAddress('::', '::', NONE)).toMatch(/^host :: is an unspecified address; /);
    expect(checkResolvedAddress('h', 'not-an-ip', NONE)).toMatch(/not an IP address/);
  });

  it('lets public addresses through', () => {
    expect(checkResolvedAddress('example.com', '93.184.216.34', NONE)).toBeUndefined();
    expect(checkResolvedAddress('example.com', '2606:2800:220:1:248:1893:25c8:1946', NONE)).toBeUndefined();
  });
});

describe('checkWebhookUrl', () => {
  it('accepts a public https URL and returns it parsed', async () => {
    const r = await checkWebhookUrl(
      'https://panel.example.com:8443/jelou/events?x=1',
      NONE,
      dns({ 'panel.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] }),
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.url.hostname).toBe('panel.example.com');
  });

  it.each([
    ['http://10.0.0.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'cloud metadata'],
    ['http://127.0.0.1:8080/', 'loopback'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://[::1]/', 'loopback'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[fd00:ec2::254]/', 'cloud metadata'],
    ['http://100.64.1.1/', 'CGNAT'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://240.0.0.1/', 'reserved'],
    ['http://255.255.255.255/', 'broadcast'],
    // Numeric spellings the URL parser normalises to 127.0.0.1.
    ['http://2130706433/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://%31%32%37.0.0.1/', 'loopback'],
    ['http://0xa9.0xfe.0xa9.0xfe/', 'cloud metadata'],
    ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback'],
    ['http://[::ffff:a00:1]/', 'IPv4-mapped private'],
    ['http://[0:0:0:0:0:ffff:169.254.169.254]/', 'IPv4-mapped cloud metadata'],
    ['http://[64:ff9b::10.0.0.1]/', 'NAT64 private'],
    ['http://[2002:a9fe:a9fe::]/', '6to4 cloud metadata'],
  ])('refuses %s (%s) without asking DNS', async (url, why) => {
    const reason = await reasonOf(url);
    expect(reason).toContain(` ${why} address; `);
    expect(reason).toContain('RELEVO_WEBHOOK_ALLOW');
  });

  it('names the normalised host in the reason', async () => {
    expect(await reasonOf('http://0x7f.1/')).toMatch(/^host 127\.0\.0\.1 is a loopback address; /);
    expect(await reasonOf('http://[::ffff:127.0.0.1]/')).toMatch(
      /^host ::ffff:7f00:1 is an IPv4-mapped loopback address; /,
    );
  });

  it('refuses a host name that resolves to a forbidden address', async () => {
    const resolve = dns({ 'intranet.example': ['10.0.0.5'] });
    expect(await reasonOf('https://intranet.example/hook', NONE, resolve)).toMatch(
      /^host intranet\.example resolves to 10\.0\.0\.5, a private address; /,
    );
  });

  it('refuses when any one of the resolved addresses is forbidden', async () => {
    const resolve = dns({ 'mixed.example': ['93.184.216.34', '2606:4700::1', '::ffff:169.254.169.254'] });
    expect(await reasonOf('https://mixed.example/', NONE, resolve)).toMatch(
      /resolves to ::ffff:169\.254\.169\.254, an IPv4-mapped cloud metadata address/,
    );
  });

  it('refuses a host that does not resolve, and says so', async () => {
    expect(await reasonOf('https://nowhere.example/', NONE, dns({}))).toBe(
      'host nowhere.example does not resolve to any address; check the host name',
    );
    expect(await reasonOf('https://empty.example/', NONE, dns({ 'empty.example': [] }))).toMatch(
      /does not resolve/,
    );
  });

  it('refuses, with a retryable reason, when DNS itself fails', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };
    expect(await reasonOf('https://panel.example.com/', NONE, failing)).toBe(
      'host panel.example.com could not be resolved (EAI_AGAIN); try again in a moment',
    );
  });

  it('refuses localhost by default, through the real resolver', async () => {
    const r = await checkWebhookUrl('http://localhost:3000/hook', NONE);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^host localhost resolves to .*, a loopback address; /);
  });

  it('passes localhost when the allow list covers its addresses', async () => {
    const resolve = dns({ localhost: ['::1', '127.0.0.1'] });
    expect(await reasonOf('http://localhost:3000/hook', DEV, resolve)).toBeUndefined();
    expect(await reasonOf('http://127.0.0.1:3000/hook', DEV)).toBeUndefined();
    expect(await reasonOf('http://[::1]:3000/hook', DEV)).toBeUndefined();
    expect(await reasonOf('http://0x7f.1/', DEV)).toBeUndefined();
    expect(await reasonOf('http://[::ffff:127.0.0.1]/', DEV)).toBeUndefined();
    expect(await reasonOf('http://10.0.0.1/', DEV)).toMatch(/private/);
  });

  it('passes an allowed host name without resolving it', async () => {
    const allow = parseAllowList(['hooks.internal']);
    expect(await reasonOf('http://HOOKS.internal./x', allow)).toBeUndefined();
    expect(await reasonOf('http://other.internal/x', allow, dns({ 'other.internal': ['10.0.0.1'] }))).toMatch(
      /private/,
    );
  });

  it('passes an address inside an allowed IPv6 range', async () => {
    const allow = parseAllowList(['fd00::/8']);
    expect(await reasonOf('http://[fd00::10]:8080/', allow)).toBeUndefined();
    expect(
      await reasonOf('http://svc.internal/', allow, dns({ 'svc.internal': ['fd00::10'] })),
    ).toBeUndefined();
  });

  it.each([
    ['http://user:pass@93.184.216.34/', /must not contain credentials/],
    ['http://user@93.184.216.34/', /must not contain credentials/],
    ['http://:pass@93.184.216.34/', /must not contain credentials/],
    ['ftp://93.184.216.34/', /must be an absolute http or https URL/],
    ['file:///etc/passwd', /must be an absolute http or https URL/],
    ['gopher://93.184.216.34/', /must be an absolute http or https URL/],
    ['javascript:alert(1)', /must be an absolute http or https URL/],
    ['ws://93.184.216.34/', /must be an absolute http or https URL/],
    ['//93.184.216.34/', /must be an absolute http or https URL/],
    ['/relative/path', /must be an absolute http or https URL/],
    ['http:93.184.216.34', /must be an absolute http or https URL/],
    ['93.184.216.34', /must be an absolute http or https URL/],
    ['', /must be an absolute http or https URL/],
    ['http://', /is not a valid URL/],
    ['http://[::1/', /is not a valid URL/],
    ['http://1.2.3.4.5/', /is not a valid URL/],
    [' https://93.184.216.34/', /must not contain spaces or control characters/],
    ['https://93.184.216.34/a b', /must not contain spaces or control characters/],
    ['https://93.184.\t216.34/', /must not contain spaces or control characters/],
    ['https://93.184.216.34/\n', /must not contain spaces or control characters/],
  ])('refuses %j', async (url, expected) => {
    expect(await reasonOf(url)).toMatch(expected);
  });

  it('accepts upper-case schemes and public literal addresses', async () => {
    expect(await reasonOf('HTTPS://93.184.216.34/')).toBeUndefined();
    expect(await reasonOf('http://[2606:4700:4700::1111]:8080/')).toBeUndefined();
  });
});

describe('checkWebhookUrl: more spellings of forbidden hosts', () => {
  it.each([
    // Numeric spellings beyond those above: whole-number octal, upper-case hex, zero-padded
    // octets, a trailing dot, the shortest "0", and the top of the 32-bit range.
    ['http://017700000001/', 'loopback'],
    ['http://0X7F.0.0.1/', 'loopback'],
    ['http://0x7f.0x0.0x0.0x1/', 'loopback'],
    ['http://127.000.000.001/', 'loopback'],
    ['http://127.0.0.1./', 'loopback'],
    ['http://0177.0.0.1./', 'loopback'],
    ['http://127.0.1/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['http://4294967295/', 'broadcast'],
    // Unicode digits and dots that IDNA mapping turns into 127.0.0.1.
    ['http://①②⑦.0.0.1/', 'loopback'],
    ['http://１２７．０．０．１/', 'loopback'],
    // IPv6 forms written in the URL.
    ['http://[::]/', 'unspecified'],
    ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
    ['http://[::127.0.0.1]/', 'deprecated IPv4-compatible'],
    ['http://[::ffff:7f00:1]/', 'IPv4-mapped loopback'],
    ['http://[::ffff:100.64.0.1]/', 'IPv4-mapped CGNAT'],
    ['http://[::ffff:169.254.169.254]:80/', 'IPv4-mapped cloud metadata'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'NAT64 cloud metadata'],
    ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'IETF protocol assignment'],
    ['http://[fc00::1]/', 'private (unique local)'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://[100::1]/', 'discard-only'],
    ['http://[2001:db8::1]/', 'documentation'],
    // Single-address metadata services of other clouds, as URLs.
    ['http://100.100.100.200/latest/meta-data/', 'cloud metadata'],
    ['http://168.63.129.16/machine', 'cloud metadata'],
    ['http://192.0.0.192/', 'cloud metadata'],
    ['http://169.254.170.2/v2/credentials', 'cloud metadata'],
    // The host is what the URL parser says it is, whatever the text around it suggests.
    ['http://127.0.0.1#@93.184.216.34/', 'loopback'],
    ['http://127.0.0.1?@93.184.216.34/', 'loopback'],
  ])('refuses %s (%s) without asking DNS', async (url, why) => {
    const reason = await reasonOf(url);
    expect(reason).toContain(` ${why} address; `);
  });

  it('reads a backslash as a slash, as the sender does: the host is the public one before it', async () => {
    const r = await checkWebhookUrl('http://93.184.216.34\\@127.0.0.1/', NONE, noDns);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.url.hostname).toBe('93.184.216.34');
  });

  it.each(['http://4294967296/', 'http://[fe80::1%25eth0]/', 'http://[::ffff:127.0.0.1%25lo]/'])(
    'refuses %s as not a valid URL',
    async (url) => {
      expect(await reasonOf(url)).toBe('is not a valid URL');
    },
  );

  it('refuses a cloud metadata host name by what it resolves to', async () => {
    const resolve = dns({ 'metadata.google.internal': ['169.254.169.254'] });
    expect(await reasonOf('http://metadata.google.internal/computeMetadata/v1/', NONE, resolve)).toMatch(
      /resolves to 169\.254\.169\.254, a cloud metadata address/,
    );
  });

  it('refuses a host name whose answer is a zoned link-local address', async () => {
    const resolve = dns({ 'printer.local': ['fe80::1%eth0'] });
    expect(await reasonOf('http://printer.local/', NONE, resolve)).toMatch(/a link-local address/);
  });
});
