/**
 * A floor for scenario (a): relevo's own domain and store, behind a bare `node:http` server.
 *
 * Start and close run exactly what relevo runs for them — `startConversation` and
 * `closeConversation` (the bot's hand-back included) in a group-committed SQLite transaction, the
 * WAL checkpointed on a worker thread as `relevo serve` does — but without fastify, the
 * authentication, the validation, the envelope's schema or the logger. What it costs over the bare
 * server is what storing a start or a close costs; what relevo costs over it is its HTTP stack.
 *
 *   node dist-bench/bench/store-server.js <relevo's build: a dist/ directory> <database file> [users per bot]
 *
 * Makes its own project (4 bots × 256 end users by default, as relevo's in the benchmark), prints
 * `{"port":N}` once listening, answers `GET /setup` with `{ projectId, pairs }`; exits on SIGTERM.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type Any, buildLoader, loadConversations } from './lib/build.js';
import { CLOSE_SUFFIX, START_SUFFIX, successEnvelope } from './lib/common.js';
import { answerJson, listenForBench, NOT_FOUND } from './lib/helper-server.js';

const [distArg, databasePath, usersArg] = process.argv.slice(2);
if (distArg === undefined || databasePath === undefined) {
  throw new Error('usage: store-server <relevo dist/> <database file>');
}
const load = buildLoader(distArg);

const BOTS = 4;
const USERS_PER_BOT = Number(usersArg ?? 256);

async function main(): Promise<void> {
  const { SqliteStore } = await load('storage/sqlite/sqlite-store.js');
  const projects = await load('domain/projects/project.service.js');
  const conversations = await loadConversations(load);
  const store = new SqliteStore({ path: databasePath, backgroundCheckpoints: true });
  await store.migrate();

  const now = Date.now();
  const { project } = await store.transaction((tx: Any) => projects.createProject(tx, 'bench', now));
  const pairs: Array<[string, string]> = [];
  await store.transaction(async (tx: Any) => {
    const bots: Array<{ id: string }> = [];
    for (let b = 0; b < BOTS; b++)
      bots.push(await projects.createBot(tx, project.id, `Bot ${b}`, 'webchat', now));
    for (let u = 0; u < USERS_PER_BOT; u++) {
      const user = await projects.createEndUser(tx, project.id, `User ${u}`, null, now);
      for (const bot of bots) pairs.push([bot.id, user.id]);
    }
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/setup') {
      answerJson(res, 200, JSON.stringify({ projectId: project.id, pairs }));
      return;
    }
    const start = url.endsWith(START_SUFFIX);
    if (req.method !== 'POST' || !(start || url.endsWith(CLOSE_SUFFIX))) {
      answerJson(res, 404, NOT_FOUND);
      return;
    }
    const body = JSON.parse(raw.toString('utf8')) as {
      botId: string;
      userId: string;
      metadata?: Record<string, unknown>;
    };
    const input = { projectId: project.id, botId: body.botId, userId: body.userId, now: Date.now() };
    const done = await store.transaction((tx: Any) =>
      start
        ? conversations.startConversation(tx, { ...input, metadata: body.metadata })
        : conversations.closeConversation(tx, input),
    );
    answerJson(
      res,
      200,
      successEnvelope(start ? 'Conversation started successfully' : 'Conversation closed successfully', {
        conversationId: done.conversation.id,
        botId: done.bot.id,
        userId: done.user.id,
        status: done.conversation.state,
      }),
    );
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((e: unknown) => {
        // relevo's refusals (a 404, a 409) carry their status; anything else is a 500.
        const status = (e as { status?: unknown }).status;
        const code = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
        answerJson(res, code, JSON.stringify({ message: String(e), statusMessage: 'failure', status: 0 }));
      });
    });
  });
  listenForBench(server, () => store.close());
}

main().catch((e: unknown) => {
  process.stderr.write(`store-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
