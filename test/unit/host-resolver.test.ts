/**
 * HostResolver against a real DNS server on loopback UDP (test/helpers/dns-server.ts): answers
 * and their TTLs, the negative and failure caches, the deadline, per-owner turns, /etc/hosts and
 * localhost. No lookup here goes through getaddrinfo.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostResolver, parseHostsFile } from '../../src/delivery/host-resolver.js';
import { startFakeDns } from '../helpers/dns-server.js';
import { eventually } from '../helpers/events.js';

const open: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function setup(options: { deadlineMs?: number; hosts?: string; realClock?: boolean } = {}) {
  const dns = await startFakeDns();
  const dir = mkdtempSync(join(tmpdir(), 'relevo-hosts-'));
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, options.hosts ?? '');
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const resolver = new HostResolver({
    servers: [dns.server],
    hostsFile,
    clock: options.realClock ? Date.now : clock.now,
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
  });
  open.push(
    () => dns.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  return { dns, resolver, clock, hostsFile };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );

describe('answers and their TTLs', () => {
  it('returns A then AAAA addresses and asks again only when the TTL has passed', async () => {
    const { dns, resolver, clock } = await setup();
    dns.answer('panel.test', ['2001:db8::7', '93.184.216.34'], 30);
    expect(await resolver.lookup('Panel.Test.')).toEqual(['93.184.216.34', '2001:db8::7']);
    expect(dns.queriesFor('panel.test')).toBe(2);
    clock.advance(29_000);
    expect(await resolver.lookup('panel.test')).toEqual(['93.184.216.34', '2001:db8::7']);
    expect(dns.queriesFor('panel.test')).toBe(2);
    dns.answer('panel.test', ['93.184.216.35'], 30);
    clock.advance(1_001);
    expect(await resolver.lookup('panel.test')).toEqual(['93.184.216.35']);
    expect(dns.queriesFor('panel.test')).toBe(4);
  });

  it('keeps a TTL of 0 for 1 s and a TTL of a day for 5 min', async () => {
    const { dns, resolver, clock } = await setup();
    dns.answer('zero.test', ['93.184.216.34'], 0);
    dns.answer('day.test', ['93.184.216.34'], 86_400);
    await resolver.lookup('zero.test');
    await resolver.lookup('day.test');
    clock.advance(999);
    await resolver.lookup('zero.test');
    expect(dns.queriesFor('zero.test')).toBe(2);
    clock.advance(2);
    await resolver.lookup('zero.test');
    expect(dns.queriesFor('zero.test')).toBe(4);
    clock.advance(5 * 60_000 - 1_002);
    await resolver.lookup('day.test');
    expect(dns.queriesFor('day.test')).toBe(2);
    clock.advance(2);
    await resolver.lookup('day.test');
    expect(dns.queriesFor('day.test')).toBe(4);
  });

  it('joins a lookup under way instead of asking again', async () => {
    const { dns, resolver } = await setup();
    dns.answer('panel.test', ['93.184.216.34']);
    const all = await Promise.all(
      Array.from({ length: 64 }, (_, i) => resolver.lookup('panel.test', `o${i}`)),
    );
    expect(new Set(all.map((a) => a.join()))).toEqual(new Set(['93.184.216.34']));
    expect(dns.queriesFor('panel.test')).toBe(2);
  });
});

describe('names without an address', () => {
  it('rejects NXDOMAIN with ENOTFOUND and keeps that answer for 5 s', async () => {
    const { dns, resolver, clock } = await setup();
    expect(await codeOf(resolver.lookup('nowhere.test'))).toBe('ENOTFOUND');
    dns.answer('nowhere.test', ['93.184.216.34']);
    clock.advance(4_999);
    expect(await codeOf(resolver.lookup('nowhere.test'))).toBe('ENOTFOUND');
    clock.advance(2);
    expect(await resolver.lookup('nowhere.test')).toEqual(['93.184.216.34']);
  });

  it('rejects a name with neither A nor AAAA records with ENOTFOUND', async () => {
    const { dns, resolver } = await setup();
    dns.answer('empty.test', []);
    expect(await codeOf(resolver.lookup('empty.test'))).toBe('ENOTFOUND');
  });
});

describe('a DNS server that never answers', () => {
  it('gives up at the deadline with ETIMEOUT, cancels its queries, and uses the name once it answers', async () => {
    const { dns, resolver, clock } = await setup({ deadlineMs: 300 });
    dns.silence('dead.test');
    const err = await resolver.lookup('dead.test').catch((e: Error & { code?: string }) => e);
    expect((err as { code?: string }).code).toBe('ETIMEOUT');
    expect((err as Error).message).toBe('dead.test got no DNS answer within 300 ms');
    // Cancelled at 300 ms: c-ares' second try is never sent. It would go out 1 s (older c-ares)
    // or 2 s (1.34, Node 20's) after the first; a late timer here can only make this pass
    // wrongly, never fail wrongly.
    await new Promise((r) => setTimeout(r, 2_300));
    expect(dns.queriesFor('dead.test')).toBe(2);
    // A failure is kept for 1 s: a burst of attempts asks once.
    dns.answer('dead.test', ['93.184.216.34']);
    clock.advance(999);
    expect(await codeOf(resolver.lookup('dead.test'))).toBe('ETIMEOUT');
    expect(dns.queriesFor('dead.test')).toBe(2);
    clock.advance(2);
    expect(await resolver.lookup('dead.test')).toEqual(['93.184.216.34']);
  });

  it('holds up only its owner: another owner resolves while 100 lookups hang, and the hung owner asks 4 at a time', async () => {
    const { dns, resolver } = await setup({ realClock: true });
    const dead = Array.from({ length: 100 }, (_, i) => `h${i}.dead.test`);
    for (const name of dead) dns.silence(name);
    dns.answer('panel.test', ['93.184.216.34']);
    let settled = 0;
    const hung = dead.map((name) =>
      resolver.lookup(name, 'tenant-a').then(
        () => 'resolved',
        (e: { code?: string }) => {
          settled += 1;
          return e.code;
        },
      ),
    );
    expect(await resolver.lookup('panel.test', 'tenant-b')).toEqual(['93.184.216.34']);
    expect(settled).toBe(0);
    const asked = new Set(dns.queries.map((q) => q.name).filter((n) => n.endsWith('.dead.test')));
    expect(asked.size).toBe(4);
    // Every one of tenant A's lookups ends at the deadline, queued ones included.
    expect(new Set(await Promise.all(hung))).toEqual(new Set(['ETIMEOUT']));
  }, 10_000);
});

describe("an owner's turns", () => {
  it('go on to its next queued lookup when one it started from the queue finds its name answered meanwhile', async () => {
    const { dns, resolver } = await setup({ realClock: true, deadlineMs: 10_000 });
    const held = ['h0.test', 'h1.test', 'h2.test', 'h3.test'];
    for (const name of held) dns.hold(name);
    dns.hold('x.test');
    dns.answer('y.test', ['93.184.216.35']);
    let heldSettled = 0;
    const running = held.map((name) =>
      codeOf(resolver.lookup(name, 'a')).finally(() => {
        heldSettled += 1;
      }),
    );
    // Its 4 turns are taken: these three wait in its queue (x.test twice: neither was under way).
    const x1 = resolver.lookup('x.test', 'a');
    const x2 = resolver.lookup('x.test', 'a');
    const y = resolver.lookup('y.test', 'a');
    dns.answer('h0.test', ['93.184.216.1']);
    await eventually(
      async () => dns.queriesFor('x.test'),
      (n) => n === 2,
    );
    dns.answer('x.test', ['93.184.216.34']);
    expect(await x1).toEqual(['93.184.216.34']);
    // The second x.test is answered from the cache without a turn; y.test takes the free one
    // rather than waiting for one of the held lookups to end.
    expect(await x2).toEqual(['93.184.216.34']);
    expect(await y).toEqual(['93.184.216.35']);
    expect(heldSettled).toBe(1);
    for (const name of held) dns.answer(name, ['93.184.216.1']);
    await Promise.all(running);
  });

  it('give a lookup started from the queue the whole deadline: another owner joining it is not cut short', async () => {
    const { dns, resolver, clock } = await setup({ deadlineMs: 2_000 });
    const held = ['h0.test', 'h1.test', 'h2.test', 'h3.test'];
    for (const name of held) dns.hold(name);
    dns.hold('z.test');
    const running = held.map((name) => codeOf(resolver.lookup(name, 'a')));
    const queued = resolver.lookup('z.test', 'a');
    // Its waiter has 1 ms of its deadline left when a turn frees up.
    clock.advance(1_999);
    dns.answer('h0.test', ['93.184.216.1']);
    await eventually(
      async () => dns.queriesFor('z.test'),
      (n) => n === 2,
    );
    // Another tenant asks for the same name: it joins the query under way, which must not time
    // out (and be cached as a failure for everyone) on what was left of owner a's wait.
    const joined = resolver.lookup('z.test', 'b');
    dns.answer('z.test', ['93.184.216.34']);
    expect(await joined).toEqual(['93.184.216.34']);
    expect(await queued).toEqual(['93.184.216.34']);
    for (const name of held) dns.answer(name, ['93.184.216.1']);
    await Promise.all(running);
  });
});

describe('/etc/hosts and localhost', () => {
  it('answers names listed in the hosts file without asking DNS, and reads the file again when it changes', async () => {
    const { dns, resolver, clock, hostsFile } = await setup({
      hosts:
        '# comment\n10.1.2.3   hosted.test  alias.test # trailing\n::1 hosted.test\n\nnot-an-ip bad.test\n',
    });
    dns.answer('hosted.test', ['93.184.216.34']);
    expect(await resolver.lookup('hosted.test')).toEqual(['10.1.2.3', '::1']);
    expect(await resolver.lookup('ALIAS.test')).toEqual(['10.1.2.3']);
    expect(dns.queriesFor('hosted.test')).toBe(0);
    writeFileSync(hostsFile, '10.9.9.9 hosted.test\n');
    utimesSync(hostsFile, new Date(), new Date(Date.now() + 5_000));
    // Looked at again after a second.
    expect(await resolver.lookup('hosted.test')).toEqual(['10.1.2.3', '::1']);
    clock.advance(1_000);
    expect(await resolver.lookup('hosted.test')).toEqual(['10.9.9.9']);
    // Gone from the file: DNS answers.
    expect(await resolver.lookup('alias.test').catch((e: { code?: string }) => e.code)).toBe('ENOTFOUND');
  });

  it('resolves localhost and *.localhost to loopback unless the hosts file says otherwise', async () => {
    const { dns, resolver } = await setup({ hosts: '127.0.0.9 localhost\n' });
    expect(await resolver.lookup('localhost')).toEqual(['127.0.0.9']);
    expect(await resolver.lookup('app.localhost')).toEqual(['127.0.0.1', '::1']);
    expect(dns.queries).toEqual([]);
  });

  it('parses a hosts file: comments, several names, several lines per name, IPv4 first', () => {
    const hosts = parseHostsFile(
      '::1 a.test\n10.0.0.1 a.test b.test # x\n#10.0.0.2 c.test\nfe80::1%lo0 d.test\n',
    );
    expect(Object.fromEntries(hosts)).toEqual({
      'a.test': ['10.0.0.1', '::1'],
      'b.test': ['10.0.0.1'],
      'd.test': ['fe80::1%lo0'],
    });
  });
});

it('rejects a name DNS cannot carry (a label over 63 characters) as having no address, asking nobody', async () => {
  const { dns, resolver } = await setup();
  const name = `${'a'.repeat(64)}.test`;
  const err = (await resolver.lookup(name).catch((e: unknown) => e)) as Error & { code?: string };
  expect(err.code).toBe('ENOTFOUND');
  expect(err.message).toBe(`${name} has no address`);
  expect(dns.queries).toEqual([]);
});

it('answers an IP literal as itself', async () => {
  const { dns, resolver } = await setup();
  expect(await resolver.lookup('[::1]')).toEqual(['::1']);
  expect(await resolver.lookup('93.184.216.34')).toEqual(['93.184.216.34']);
  expect(dns.queries).toEqual([]);
});
