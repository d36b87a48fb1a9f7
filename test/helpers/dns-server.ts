/**
 * A tiny authoritative DNS server on loopback UDP, for tests of name resolution: it answers A
 * (and AAAA) queries for the names it is told about, NXDOMAIN for the others, and nothing at all
 * for names it is told to be silent about — a dead DNS server, as far as those names go. Names
 * can change behaviour while it runs (a silent name starts answering, as when DNS comes back),
 * and a held name's queries wait until the test tells the server how to answer them.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const NXDOMAIN = 3;

type Behaviour =
  | { kind: 'answer'; addresses: readonly string[]; ttl: number }
  | { kind: 'silent' }
  | { kind: 'held'; waiting: Array<{ msg: Buffer; from: RemoteInfo }> };

export interface Query {
  readonly name: string;
  /** 'A', 'AAAA' or the numeric type. */
  readonly type: string;
}

export interface FakeDns {
  /** `127.0.0.1:<port>`, as RELEVO_DNS_SERVERS takes it. */
  readonly server: string;
  /** Every query received, in order. */
  readonly queries: Query[];
  /**
   * Answers queries for `name` with these addresses (A for IPv4, AAAA for IPv6), TTL in seconds;
   * queries `hold` kept waiting are answered now.
   */
  answer(name: string, addresses: readonly string[], ttl?: number): void;
  /** Keeps queries for `name` unanswered until `answer(name, …)`: a slow server, on cue. */
  hold(name: string): void;
  /** Never answers queries for `name`. */
  silence(name: string): void;
  /** Queries received for `name` (any type). */
  queriesFor(name: string): number;
  close(): Promise<void>;
}

export async function startFakeDns(): Promise<FakeDns> {
  const names = new Map<string, Behaviour>();
  const queries: Query[] = [];
  const socket = createSocket('udp4');

  const reply = (msg: Buffer, from: RemoteInfo) => {
    const q = parseQuestion(msg);
    if (q === undefined) return;
    const b = names.get(q.name);
    if (b?.kind === 'silent') return;
    if (b?.kind === 'held') {
      b.waiting.push({ msg, from });
      return;
    }
    let answers: Buffer[] = [];
    let rcode = 0;
    if (b === undefined) rcode = NXDOMAIN;
    else if (q.type === TYPE_A)
      answers = b.addresses.filter((a) => isIPv4(a)).map((a) => record(TYPE_A, b.ttl, v4(a)));
    else if (q.type === TYPE_AAAA)
      answers = b.addresses.filter((a) => isIPv6(a)).map((a) => record(TYPE_AAAA, b.ttl, v6(a)));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, the query's opcode and RD, AA; RA; the rcode.
    header.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | 0x0400 | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, msg.subarray(12, q.end), ...answers]), from.port, from.address);
  };
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const q = parseQuestion(msg);
    if (q === undefined) return;
    queries.push({
      name: q.name,
      type: q.type === TYPE_A ? 'A' : q.type === TYPE_AAAA ? 'AAAA' : String(q.type),
    });
    reply(msg, from);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;

  return {
    server: `127.0.0.1:${port}`,
    queries,
    answer(name, addresses, ttl = 60) {
      const before = names.get(name.toLowerCase());
      names.set(name.toLowerCase(), { kind: 'answer', addresses, ttl });
      if (before?.kind === 'held') for (const w of before.waiting) reply(w.msg, w.from);
    },
    hold(name) {
      names.set(name.toLowerCase(), { kind: 'held', waiting: [] });
    },
    silence(name) {
      names.set(name.toLowerCase(), { kind: 'silent' });
    },
    queriesFor(name) {
      return queries.filter((q) => q.name === name.toLowerCase()).length;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** The first question of a query: its name (lower case), type and where it ends. */
function parseQuestion(msg: Buffer): { name: string; type: number; end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length) {
    const len = msg[at] ?? 0;
    at += 1;
    if (len === 0) break;
    labels.push(msg.toString('latin1', at, at + len).toLowerCase());
    at += len;
  }
  if (at + 4 > msg.length) return undefined;
  return { name: labels.join('.'), type: msg.readUInt16BE(at), end: at + 4 };
}

/** One answer record, its owner a pointer to the question's name (offset 12). */
function record(type: number, ttl: number, data: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(data.length, 10);
  return Buffer.concat([head, data]);
}

function v4(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function v6(address: string): Buffer {
  const [left = '', right] = address.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const l = groups(left);
  const r = right === undefined ? [] : groups(right);
  const all = [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}
