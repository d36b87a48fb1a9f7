/**
 * A bot of your own behind relevo's `external` engine (docs/bots.md): Node's standard library
 * and the global fetch, nothing else. It checks each event's X-Jelou-Signature, answers the
 * user's messages through the reply route, hands the room to the panel when the user asks for a
 * person, keeps quiet while the panel has the room, and greets the user again when it comes back.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

function setting(name: string, fallback?: string): string {
  const value = process.env[name] || fallback;
  if (value === undefined) throw new Error(`set ${name} (see examples/external-bot/README.md)`);
  return value;
}
const RELEVO = `${setting('RELEVO_URL').replace(/\/+$/, '')}/v1/external-support/${setting('RELEVO_PROJECT_ID')}`;
const API_KEY = setting('RELEVO_API_KEY');
const SECRET = setting('BOT_SIGNING_SECRET');
const PORT = Number(setting('PORT', '3000'));

/** Where a closing panel can send the user back to: `redirectPayload: { type: "edge", text: "survey" }`. */
const STEPS: Record<string, string> = {
  menu: 'Back to the menu: write "hours", or "agent" to talk to a person.',
  survey: 'Before you go: how did we do, from 1 to 5?',
};
const HANDOFF = /\b(agent|human|person)\b/i;

// relevo sends a bot no messages while the panel owns the room; this also drops any that were
// already on their way when the bot handed off.
const panelRooms = new Set<string>();

function signedBy(raw: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const expected = createHmac('sha256', SECRET).update(raw).digest();
  return timingSafeEqual(Buffer.from(header.slice(7), 'hex'), expected);
}

/**
 * A POST to relevo. A 409 means the panel has the room (`room_owned_by_panel`,
 * `conversation_already_active`): the bot's turn is over, nothing to retry.
 */
async function relevo(path: string, body: object, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${RELEVO}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    body: JSON.stringify(body),
  });
  if (!res.ok && res.status !== 409) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

interface BotEvent {
  event?: string;
  event_type: string;
  room_id: string;
  contact: { id: string };
  bot: { id: string };
  value: {
    content?: { body?: string; caption?: string; filename?: string };
    redirect_payload?: { type: string; text: string };
  };
}

/** What the bot does with one event; `id` (its webhook-id) is the same on every retry of it. */
async function handle(e: BotEvent, id: string): Promise<void> {
  // The reply's `id` is the bot's own message id: relevo accepts a repeated one once.
  const say = (body: string) =>
    relevo(`/bots/${e.bot.id}/messages`, {
      userId: e.contact.id,
      message: { type: 'text', content: { body } },
      id,
    });
  if (e.event === 'conversation.start') panelRooms.add(e.room_id);
  if (e.event === 'conversation.close') {
    panelRooms.delete(e.room_id);
    const redirect = e.value.redirect_payload;
    await say(
      (redirect?.type === 'edge' && STEPS[redirect.text]) || 'Welcome back! Write "hours", or "agent".',
    );
  }
  if (e.event_type !== 'message' || panelRooms.has(e.room_id)) return;
  const { body, caption, filename } = e.value.content ?? {};
  const text = body ?? caption ?? filename ?? '';
  if (HANDOFF.test(text)) {
    // The user's words open the panel's conversation; the key makes a retried event start it once.
    const start = { botId: e.bot.id, userId: e.contact.id, initialMessage: text };
    await relevo('/conversations/start', start, { 'idempotency-key': `start-${id}` });
  } else if (/\bhours\b/i.test(text)) {
    await say('We are open Monday to Friday, 9:00 to 18:00.');
  } else {
    await say(`You wrote "${text}". Write "hours", or "agent" to talk to a person.`);
  }
}

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    if (!signedBy(raw, req.headers['x-jelou-signature'])) return void res.writeHead(401).end();
    // Answer once relevo has taken the bot's reply: on an error relevo retries the event later,
    // and the webhook-id, passed on as the reply's id and the start's key, makes that harmless.
    handle(JSON.parse(raw.toString('utf8')) as BotEvent, String(req.headers['webhook-id'])).then(
      () => res.writeHead(204).end(),
      (err: unknown) => {
        console.error(err);
        res.writeHead(502).end();
      },
    );
  });
}).listen(PORT, () => console.log(`bot listening on port ${PORT}`));
