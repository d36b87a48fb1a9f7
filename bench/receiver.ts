/**
 * The webhook receiver: a `node:http` server in its own process answering 200 to every POST. It
 * counts what arrives (and, for relevo's events, distinct `webhook-id`s, so a duplicate delivery
 * is not mistaken for a delivered event) and, when asked, records each event's arrival time for
 * the end-to-end latency scenario.
 *
 * Control routes, for the benchmark only: `POST /_reset {"record":bool}`, `GET /_stats`,
 * `GET /_records`. Prints `{"port":N}` on stdout once listening; exits on SIGTERM.
 */
import { createServer } from 'node:http';
import { epochMs } from './lib/common.js';
import { listenForBench } from './lib/helper-server.js';

/** [event type, conversation id, arrival (epoch ms), metadata.sentAt or null] */
export type ArrivalRecord = [string, string, number, number | null];

export interface ReceiverStats {
  readonly total: number;
  readonly unique: number;
  readonly lastArrival: number;
}

let total = 0;
let ids = new Set<string>();
let anonymous = 0;
let lastArrival = 0;
let recording = false;
let records: ArrivalRecord[] = [];

function note(headers: Record<string, string | string[] | undefined>, raw: Buffer): void {
  total += 1;
  lastArrival = epochMs();
  const id = headers['webhook-id'];
  if (typeof id === 'string') ids.add(id);
  else anonymous += 1;
  if (!recording) return;
  const event = JSON.parse(raw.toString('utf8')) as {
    event?: string;
    conversation?: { id?: string };
    value?: { metadata?: { sentAt?: unknown } };
  };
  const sentAt = event.value?.metadata?.sentAt;
  records.push([
    event.event ?? '',
    event.conversation?.id ?? '',
    lastArrival,
    typeof sentAt === 'number' ? sentAt : null,
  ]);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '';
    const raw = Buffer.concat(chunks);
    let reply = '';
    if (url === '/_stats') {
      const stats: ReceiverStats = { total, unique: ids.size + anonymous, lastArrival };
      reply = JSON.stringify(stats);
    } else if (url === '/_records') {
      reply = JSON.stringify(records);
    } else if (url === '/_reset') {
      const options = raw.length === 0 ? {} : (JSON.parse(raw.toString('utf8')) as { record?: boolean });
      total = 0;
      ids = new Set();
      anonymous = 0;
      lastArrival = 0;
      records = [];
      recording = options.record === true;
      reply = '{}';
    } else {
      note(req.headers, raw);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
    res.end(reply);
  });
});
listenForBench(server);
