/**
 * `relevo receive`: a webhook receiver for trying relevo out, with no code of one's own. It
 * listens on loopback only, prints every request it gets (method, path, event, whether
 * X-Jelou-Signature verifies with --secret, and the body), and answers 200.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyJelouSignature } from '../delivery/signer.js';
import { validationError } from '../errors.js';
import { optionString } from './cli-store.js';
import type { Command } from './command.js';

/** Loopback only: this receiver is for one machine, and prints whatever it is sent. */
const HOST = '127.0.0.1';
const DEFAULT_PORT = 4000;
/** relevo's own bodies are at most ~1 MiB (RELEVO_BODY_LIMIT_BYTES); anything far larger is refused. */
const BODY_MAX_BYTES = 4 * 1024 * 1024;

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 0 && port <= 65535))
    throw validationError({ port: ['must be a whole number from 0 to 65535'] });
  return port;
}

type SignatureCheck = 'missing' | 'unchecked' | 'verified' | 'wrong';

function checkSignature(
  raw: Buffer,
  header: string | string[] | undefined,
  secret: string | undefined,
): SignatureCheck {
  if (header === undefined) return 'missing';
  if (secret === undefined) return 'unchecked';
  return verifyJelouSignature(raw, header, secret) ? 'verified' : 'wrong';
}

const SIGNATURE_NOTES: Readonly<Record<SignatureCheck, string>> = {
  missing: 'X-Jelou-Signature missing',
  unchecked: 'X-Jelou-Signature not checked (no --secret)',
  verified: 'X-Jelou-Signature verified',
  wrong: 'X-Jelou-Signature WRONG: not signed with this --secret',
};

/** The body as JSON when it is JSON, else as the text it is. */
function bodyValue(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The body for reading: JSON indented, anything else as it came. */
function describeBody(raw: Buffer): { label: string; text: string } {
  const text = raw.toString('utf8');
  try {
    const value = JSON.parse(text) as unknown;
    const fields = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    const label = [fields.event, fields.event_type].find((v) => typeof v === 'string') ?? '';
    return { label: String(label), text: JSON.stringify(value, null, 2) };
  } catch {
    return { label: '', text };
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_MAX_BYTES) chunks.push(chunk);
    });
    req.on('end', () => done(size > BODY_MAX_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

export const RECEIVE_COMMAND: Command = {
  name: 'receive',
  summary: 'Run a local webhook receiver that prints every event and checks its signature',
  args: [],
  usage: '[--port <port>] [--secret <signingSecret>]',
  options: { port: { type: 'string' }, secret: { type: 'string' } },
  optionHelp: [
    ['--port <port>', `port on ${HOST} to listen on (default ${DEFAULT_PORT}; 0 picks a free one)`],
    ['--secret <signingSecret>', "the integration's signingSecret, to check each X-Jelou-Signature"],
  ],
  details:
    `Listens on ${HOST} only and answers 200 to every request, printing it first: method, path,\n` +
    'event, whether X-Jelou-Signature verifies with --secret, and the body. Point an\n' +
    "integration's webhookUrl at it (e.g. http://127.0.0.1:4000/webhooks); relevo delivers\n" +
    'there once RELEVO_WEBHOOK_ALLOW lets it (e.g. RELEVO_WEBHOOK_ALLOW=127.0.0.1). Stops on\n' +
    'SIGINT (Ctrl-C) or SIGTERM. With --json: one JSON line per request, { method, path, event,\n' +
    'signature: verified|wrong|missing|unchecked, body }, after { listening, checksSignatures }.',
  async run(ctx, args) {
    const port = parsePort(optionString(args, 'port'));
    const secret = optionString(args, 'secret');
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      readBody(req).then(
        (raw) => {
          if (raw === undefined) {
            const refused = `body over ${BODY_MAX_BYTES} bytes`;
            if (ctx.json) ctx.out(JSON.stringify({ method: req.method, path: req.url, refused }));
            else ctx.out(`${req.method} ${req.url} · refused: ${refused}`);
            res.writeHead(413, { 'content-type': 'text/plain' }).end('too large');
            return;
          }
          const { label, text } = describeBody(raw);
          const signature = checkSignature(raw, req.headers['x-jelou-signature'], secret);
          if (ctx.json) {
            // One line per request, whatever the terminal: a stream for jq or a script.
            const event = label === '' ? null : label;
            const body = raw.length === 0 ? null : bodyValue(raw);
            ctx.out(JSON.stringify({ method: req.method, path: req.url, event, signature, body }));
          } else {
            const head = [`${req.method} ${req.url}`, label, SIGNATURE_NOTES[signature]]
              .filter((part) => part !== '')
              .join(' · ');
            // One write for the heading and the body: what another process prints to the same
            // terminal (the curl that caused this webhook, say) then lands before or after the
            // request, never between its heading and its body.
            ctx.out(text === '' ? head : `${head}\n${text}`);
          }
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(port, HOST, () => done());
    });
    const { port: bound } = server.address() as AddressInfo;
    if (ctx.json) {
      ctx.out(
        JSON.stringify({ listening: `http://${HOST}:${bound}/`, checksSignatures: secret !== undefined }),
      );
    } else {
      ctx.out(
        `relevo receive: listening on http://${HOST}:${bound}/ (answers 200 to everything; Ctrl-C stops)`,
      );
      if (secret === undefined) ctx.out('relevo receive: no --secret given: signatures are not checked');
    }

    const source = ctx.signals ?? process;
    await new Promise<void>((done) => {
      const stop = () => {
        source.off('SIGINT', stop);
        source.off('SIGTERM', stop);
        done();
      };
      source.on('SIGINT', stop);
      source.on('SIGTERM', stop);
    });
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    return 0;
  },
};
