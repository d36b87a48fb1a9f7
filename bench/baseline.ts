/**
 * The two baselines, each a bare `node:http` server answering the start and close routes with the
 * documented success envelope:
 *
 * - `bare`: reads and parses the body, answers. The ceiling for any Node server on this machine.
 * - `forward <receiverUrl>`: the same, but first POSTs the request body to the webhook receiver
 *   over a keep-alive agent and waits for its answer. The floor cost of "accept and deliver":
 *   no durability, no validation, no signing, no retry.
 *
 * Prints `{"port":N}` on stdout once listening; exits on SIGTERM.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { CLOSE_SUFFIX, START_SUFFIX, successEnvelope } from './lib/common.js';
import { answerJson, listenForBench, NOT_FOUND } from './lib/helper-server.js';

const [mode, receiverUrl] = process.argv.slice(2);
if (mode !== 'bare' && mode !== 'forward') throw new Error('usage: baseline bare | forward <receiverUrl>');
if (mode === 'forward' && receiverUrl === undefined) throw new Error('forward needs the receiver URL');

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let sequence = 0;

function forward(body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      receiverUrl as string,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
  const url = req.url ?? '';
  const start = url.endsWith(START_SUFFIX);
  if (req.method !== 'POST' || !(start || url.endsWith(CLOSE_SUFFIX))) {
    answerJson(res, 404, NOT_FOUND);
    return;
  }
  const body = JSON.parse(raw.toString('utf8')) as { botId?: unknown; userId?: unknown };
  if (mode === 'forward') {
    const status = await forward(raw);
    if (status < 200 || status > 299) throw new Error(`receiver answered ${status}`);
  }
  sequence += 1;
  answerJson(
    res,
    200,
    successEnvelope(start ? 'Conversation started successfully' : 'Conversation closed successfully', {
      conversationId: `conv_${sequence}`,
      botId: body.botId,
      userId: body.userId,
      status: start ? 'active' : 'closed',
    }),
  );
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks)).catch((e: unknown) => {
      answerJson(res, 500, JSON.stringify({ message: String(e), statusMessage: 'failure', status: 0 }));
    });
  });
});
listenForBench(server);
