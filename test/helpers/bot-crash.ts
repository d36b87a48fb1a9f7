/**
 * docs/bots.md with a `kill -9`: the events for a bot's outside engine go through the outbox, so
 * a crash loses none of them and keeps each room's order. A real server process takes user
 * messages through the http channel, in several rooms at once, while the bot (an `external`
 * webhook, or a Rasa stand-in) is down for a while; the server is killed with SIGKILL mid-stream
 * and restarted on the same database. Every message answered 202 reaches the bot, and in each
 * room the first arrivals come in the order the messages were sent. Duplicates are possible for
 * attempts in flight at the kill: they carry the same webhook-id (and Rasa the same text).
 * Shared by the SQLite run (test/e2e) and the PostgreSQL one (test/postgres).
 */
import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import type { EngineSetting } from '../../src/domain/bots/engine.service.js';
import { postJson, requestJson } from './http-client.js';
import { type Behaviour, type Received, type Receiver, startReceiver } from './receiver.js';
import { type Served, spawnServer } from './spawned-server.js';

const ADMIN = 'bot-crash-test-admin-token-0123456789';
const ADMIN_AUTH = { authorization: `Bearer ${ADMIN}` };
/** Bounds the attempts in flight at the kill, and so the duplicates it may cause. */
const IN_FLIGHT = 16;

/**
 * One scenario's server and receivers: a database (a SQLite file, or a PostgreSQL database), the
 * server processes spawned on it, and the receivers standing for the bot and the channel.
 */
export class CrashRig {
  readonly servers: Served[] = [];
  readonly receivers: Receiver[] = [];

  constructor(readonly databaseUrl: string) {}

  get env(): NodeJS.ProcessEnv {
    return {
      DATABASE_URL: this.databaseUrl,
      RELEVO_ADMIN_TOKEN: ADMIN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
      // About 10 s of retries: longer than the bot's outages here, so nothing ends failed.
      RELEVO_WEBHOOK_RETRY_SCHEDULE: ['0', '50ms', '100ms', '200ms', ...Array(20).fill('500ms')].join(','),
      // An attempt in flight at the kill holds its lease for the timeout plus 5 s; a short timeout
      // lets the restarted server take it over within seconds.
      RELEVO_WEBHOOK_TIMEOUT_MS: '1000',
      RELEVO_WEBHOOK_CONCURRENCY: String(IN_FLIGHT),
      LOG_LEVEL: 'info',
    };
  }

  async receiver(): Promise<Receiver> {
    const r = await startReceiver();
    this.receivers.push(r);
    return r;
  }

  async spawn(): Promise<Served> {
    const served = await spawnServer(this.env);
    this.servers.push(served);
    return served;
  }

  async close(): Promise<void> {
    for (const s of this.servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    for (const r of this.receivers) await r.close();
  }
}

interface HttpBot {
  readonly projectId: string;
  readonly botId: string;
  /** The http channel's key: signs the user's messages. */
  readonly channelKey: string;
  /** The external engine's signing secret (empty for Rasa). */
  readonly engineSecret: string;
}

/** Over the admin API: a project and an http bot whose channel posts to `channelUrl`, answered by `engine`. */
async function setUpBot(port: number, channelUrl: string, engine: EngineSetting): Promise<HttpBot> {
  const project = await postJson(port, '/admin/v1/projects', ADMIN_AUTH, { name: 'Bot crash' });
  expect(project.status).toBe(201);
  const projectId = String(project.json.id);
  const bot = await postJson(port, `/admin/v1/projects/${projectId}/bots`, ADMIN_AUTH, {
    name: 'Crash Bot',
    channel: 'http',
  });
  expect(bot.status).toBe(201);
  const botId = String(bot.json.id);
  const channel = await requestJson(
    port,
    'PUT',
    `/admin/v1/projects/${projectId}/bots/${botId}/channel`,
    ADMIN_AUTH,
    {
      webhookUrl: channelUrl,
    },
  );
  expect(channel.status).toBe(201);
  const set = await requestJson(
    port,
    'PUT',
    `/admin/v1/projects/${projectId}/bots/${botId}/engine`,
    ADMIN_AUTH,
    engine,
  );
  expect(set.status, JSON.stringify(set.json)).toBe(200);
  return {
    projectId,
    botId,
    channelKey: String(channel.json.signingKey),
    engineSecret: engine.type === 'external' ? String(set.json.signingSecret) : '',
  };
}

const sign = (raw: string, key: string) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

/** The text of message `i` in room `r`: the tests read room and position back from it. */
const textOf = (r: number, i: number) => `room ${r} message ${i}`;
const parseText = (text: string) => {
  const m = /^room (\d+) message (\d+)$/.exec(text);
  if (m === null) throw new Error(`not a test message: ${JSON.stringify(text)}`);
  return { room: Number(m[1]), i: Number(m[2]) };
};

/** One user message through the http channel's inbound route; the answer's status. */
async function userSays(port: number, bot: HttpBot, r: number, i: number): Promise<number> {
  const raw = JSON.stringify({
    referenceId: `crash-user-${r}`,
    message: { type: 'text', content: { body: textOf(r, i) } },
  });
  const res = await fetch(`http://127.0.0.1:${port}/v1/custom-channel/${bot.botId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-jelou-signature': sign(raw, bot.channelKey) },
    body: raw,
    signal: AbortSignal.timeout(30_000),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * A bot on a receiver: slow (5 ms) when up, so that attempts are in flight at the kill; 503 when
 * down. It counts the refusals, and the repeats of an attempt it had answered 2xx (only an attempt
 * the kill cut before relevo recorded it may come again).
 */
class StandIn {
  down = false;
  refused = 0;
  repeatedAfter2xx = 0;
  private readonly answered = new Set<string>();

  constructor(
    readonly receiver: Receiver,
    /** What a delivery is (webhook-id, or Rasa's message) and what the bot answers it. */
    keyOf: (req: Received) => string,
    answer: (req: Received) => { headers?: Record<string, string>; body?: string } = () => ({}),
  ) {
    receiver.respond((req): Behaviour => {
      if (this.down) {
        this.refused++;
        return { kind: 'status', status: 503 };
      }
      const key = keyOf(req);
      if (this.answered.has(key)) this.repeatedAfter2xx++;
      this.answered.add(key);
      return { kind: 'wait', release: new Promise((r) => setTimeout(r, 5)), status: 200, ...answer(req) };
    });
  }
}

interface Stream {
  readonly rooms: number;
  readonly perRoom: number;
  /**
   * The bot is down (503) from the first to the second count of acknowledged messages, or longer,
   * until it has refused an attempt.
   */
  readonly outage: readonly [number, number];
  /** relevo is killed once this many are acknowledged (after the outage: attempts in flight). */
  readonly killAt: number;
  /** The bot is down again from the kill until the restarted server has acknowledged this many. */
  readonly downAfterRestart: number;
}

interface StreamOutcome {
  /** Per room, the positions answered 202. */
  readonly acknowledged: Array<Set<number>>;
  readonly second: Served;
}

/**
 * Each room's user writes its messages one after the other (rooms in parallel). The bot is down
 * for a while and back; relevo is killed mid-stream and restarted on the same file, the bot down
 * again meanwhile so that retries span the restart. A message whose request the kill cut is not
 * acknowledged, and the user goes on with the next one once relevo listens again.
 */
async function stream(
  rig: CrashRig,
  first: Served,
  bot: HttpBot,
  standIn: StandIn,
  s: Stream,
): Promise<StreamOutcome> {
  const acknowledged = Array.from({ length: s.rooms }, () => new Set<number>());
  let acks = 0;
  let current = first;
  let restarted: Promise<Served> | undefined;
  let acksAtRestart: number | undefined;
  const kill = () => {
    first.child.kill('SIGKILL');
    standIn.down = true;
    restarted = first.exited.then(async () => {
      const next = await rig.spawn();
      current = next;
      acksAtRestart = acks;
      return next;
    });
  };
  let firstOutage: 'before' | 'on' | 'over' = 'before';
  const afterAck = () => {
    acks++;
    if (acks === s.outage[0]) {
      standIn.down = true;
      firstOutage = 'on';
    }
    // Over from outage[1] on, but not before the bot refused an attempt: on a loaded machine the
    // deliveries can lag the acknowledgements by more than the outage's span, and then no attempt
    // met it (seen once on PostgreSQL, in CI's second pass).
    if (firstOutage === 'on' && acks >= s.outage[1] && standIn.refused > 0) {
      standIn.down = false;
      firstOutage = 'over';
    }
    if (acks === s.killAt && restarted === undefined) kill();
    if (acksAtRestart !== undefined && acks === acksAtRestart + s.downAfterRestart) standIn.down = false;
  };
  const room = async (r: number) => {
    for (let i = 0; i < s.perRoom; i++) {
      const via = current;
      let status: number;
      try {
        status = await userSays(via.port, bot, r, i);
      } catch (e) {
        // Only a request cut by the kill (or refused while relevo was down) may fail: nothing is
        // owed for it, and the user goes on once relevo is back.
        if (via !== first || restarted === undefined) throw e;
        await restarted;
        continue;
      }
      expect(status).toBe(202);
      acknowledged[r]?.add(i);
      afterAck();
    }
  };
  await Promise.all(Array.from({ length: s.rooms }, (_, r) => room(r)));
  expect(restarted).toBeDefined();
  expect(await first.exited).toBeNull();
  const second = await (restarted as Promise<Served>);
  // Few messages may follow the restart: the bot is back at the end of the stream at the latest.
  standIn.down = false;
  return { acknowledged, second };
}

/** Waits until `done` holds for what arrived, for up to 30 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** The first arrival of each delivery, by webhook-id, in arrival order; a repeat has the same bytes. */
function firstArrivals(received: readonly Received[]): Received[] {
  const byId = new Map<string, Received>();
  for (const r of received) {
    const id = String(r.headers['webhook-id']);
    const seen = byId.get(id);
    if (seen === undefined) byId.set(id, r);
    else expect(r.body).toBe(seen.body);
  }
  return [...byId.values()];
}

/** Per room, the positions in order of first arrival. */
function positionsPerRoom(rooms: number, texts: readonly string[]): number[][] {
  const out = Array.from({ length: rooms }, () => [] as number[]);
  for (const t of texts) {
    const { room, i } = parseText(t);
    out[room]?.push(i);
  }
  return out;
}

const missing = (acknowledged: Array<Set<number>>, got: number[][]) =>
  acknowledged.flatMap((set, r) => [...set].filter((i) => !got[r]?.includes(i)).map((i) => textOf(r, i)));

const ascending = (list: readonly number[]) => [...list].sort((a, b) => a - b);

/** Per room, what arrived (every attempt) never goes back: nothing overtakes a message being retried. */
function expectRoomOrder(attempts: number[][], first: number[][]): void {
  for (const positions of attempts) expect(positions).toEqual(ascending(positions));
  for (const positions of first) expect(new Set(positions).size).toBe(positions.length);
}

const STREAM_SHAPE = { outage: [30, 60], killAt: 90, downAfterRestart: 15 } as const;

/** An external bot's webhook gets every acknowledged message, in room order, through outages and a SIGKILL. */
export async function externalBotThroughKill(rig: CrashRig): Promise<void> {
  const hook = new StandIn(await rig.receiver(), (req) => String(req.headers['webhook-id']));
  const channel = await rig.receiver();
  const first = await rig.spawn();
  const bot = await setUpBot(first.port, channel.url, {
    type: 'external',
    webhookUrl: hook.receiver.url,
  });

  const ROOMS = 8;
  const { acknowledged, second } = await stream(rig, first, bot, hook, {
    rooms: ROOMS,
    perRoom: 25,
    ...STREAM_SHAPE,
  });
  expect(acknowledged.reduce((n, s) => n + s.size, 0)).toBeGreaterThanOrEqual(STREAM_SHAPE.killAt);

  const texts = (list: readonly Received[]) =>
    list.map((r) => (JSON.parse(r.body) as { value: { content: { body: string } } }).value.content.body);
  const delivered = () => positionsPerRoom(ROOMS, texts(firstArrivals(hook.receiver.received)));
  await until(() => missing(acknowledged, delivered()).length === 0);
  expect(missing(acknowledged, delivered())).toEqual([]);

  // Each room's first arrivals in the order its user wrote (a message whose request the kill cut
  // may be there too, stored before the kill: in its place), and its retries before the next.
  expectRoomOrder(positionsPerRoom(ROOMS, texts(hook.receiver.received)), delivered());
  for (const r of hook.receiver.received) {
    expect(JSON.parse(r.body)).toMatchObject({
      event_type: 'message',
      project_id: bot.projectId,
      bot: { id: bot.botId },
    });
    expect(r.headers['x-jelou-signature']).toBe(sign(r.body, bot.engineSecret));
  }
  // The outages were real (attempts refused, then retried), and a delivery the bot had taken came
  // again only if its attempt was in flight at the kill.
  expect(hook.refused).toBeGreaterThan(0);
  expect(hook.repeatedAfter2xx).toBeLessThanOrEqual(IN_FLIGHT);
  // The bot answers for itself: relevo said nothing to the users.
  expect(channel.received).toEqual([]);

  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}

/**
 * A Rasa bot is asked every acknowledged message in room order, and its answers reach the channel
 * once each, in order, through outages and a SIGKILL.
 */
export async function rasaBotThroughKill(rig: CrashRig): Promise<void> {
  const messageOf = (req: Received) => (JSON.parse(req.body) as { message: string }).message;
  const rasa = new StandIn(await rig.receiver(), messageOf, (req) => ({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ recipient_id: 'x', text: `re: ${messageOf(req)}` }]),
  }));
  const channel = await rig.receiver();
  const first = await rig.spawn();
  const bot = await setUpBot(first.port, channel.url, {
    type: 'rasa',
    url: rasa.receiver.url,
  });

  const ROOMS = 6;
  const { acknowledged, second } = await stream(rig, first, bot, rasa, {
    rooms: ROOMS,
    perRoom: 20,
    ...STREAM_SHAPE,
  });

  // Rasa's REST channel has no webhook-id: each message's text is unique, and tells repeats apart.
  const asked = () => positionsPerRoom(ROOMS, [...new Set(rasa.receiver.received.map(messageOf))]);
  const relayed = () =>
    positionsPerRoom(
      ROOMS,
      firstArrivals(channel.received).map((r) => {
        const said = (JSON.parse(r.body) as { message: { content: { body: string } } }).message.content.body;
        expect(said.startsWith('re: ')).toBe(true);
        return said.slice('re: '.length);
      }),
    );
  // Until Rasa was asked every acknowledged message and all it was asked has been relayed (a
  // message whose request the kill cut may be among them, stored before the kill).
  await until(
    () => missing(acknowledged, asked()).length === 0 && relayed().flat().length >= asked().flat().length,
  );
  expect(missing(acknowledged, asked())).toEqual([]);
  const rasaOrder = asked();
  expectRoomOrder(positionsPerRoom(ROOMS, rasa.receiver.received.map(messageOf)), rasaOrder);
  for (const r of rasa.receiver.received) expect(r.path).toBe('/hooks/webhooks/rest/webhook');
  expect(rasa.refused).toBeGreaterThan(0);
  expect(rasa.repeatedAfter2xx).toBeLessThanOrEqual(IN_FLIGHT);
  // Every answer Rasa gave reached its user once, in the room's order: an answer to an attempt
  // the kill cut before relevo recorded it was asked for again and relayed once.
  expect(relayed()).toEqual(rasaOrder);
  for (const r of firstArrivals(channel.received)) {
    const body = JSON.parse(r.body) as {
      user: { reference_id: string };
      message: { content: { body: string } };
    };
    const { room } = parseText(body.message.content.body.slice('re: '.length));
    expect(body.user.reference_id).toBe(`crash-user-${room}`);
  }

  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}
