/**
 * The commands for developers (docs/sdk-cli in the README, "Receive your first webhook"): they
 * talk to a running relevo over HTTP with a project's credentials, through @relevo/sdk, rather
 * than to the database like the operator's commands.
 *
 * - `relevo listen --forward-to URL`: follows the project's event stream and posts each event to
 *   a local URL, signed both ways (X-Jelou-Signature and Standard Webhooks) with a secret it
 *   prints at start, one line per event with the local answer; it resumes after a reconnect
 *   (Last-Event-ID), so nothing is lost when the server restarts.
 * - `relevo trigger TYPE`: a sample event of that type sent to the project's integration.
 * - `relevo events tail`: the stream, printed.
 */
import { Relevo, RelevoApiError, RelevoConnectionError, type StreamedEvent } from '@relevo/sdk';
import { signEvent } from '../delivery/signer.js';
import { validationError } from '../errors.js';
import { randomHex } from '../model/ids.js';
import type { Command, Options, ParsedArgs } from './command.js';
import type { CliContext } from './context.js';

const EVENT_TYPES = ['conversation.start', 'message', 'conversation.close'] as const;
type EventType = (typeof EVENT_TYPES)[number];
/** A local receiver that hangs is reported and skipped after this long, not waited for. */
const FORWARD_TIMEOUT_MS = 10_000;

const SERVER_OPTIONS: Options = {
  url: { type: 'string' },
  project: { type: 'string' },
  'api-key': { type: 'string' },
};
const SERVER_HELP: ReadonlyArray<readonly [string, string]> = [
  ['--url URL', 'the relevo server (RELEVO_URL, else http://localhost:8080)'],
  ['--project ID', "the project's id (RELEVO_PROJECT_ID)"],
  ['--api-key KEY', "the project's API key (RELEVO_API_KEY)"],
];

function option(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** The SDK client for the server and project the flags or the environment name. */
function client(args: ParsedArgs): Relevo {
  const baseUrl = option(args, 'url') ?? process.env.RELEVO_URL ?? 'http://localhost:8080';
  const projectId = option(args, 'project') ?? process.env.RELEVO_PROJECT_ID;
  const apiKey = option(args, 'api-key') ?? process.env.RELEVO_API_KEY;
  const missing: Record<string, string[]> = {};
  if (!/^https?:\/\/[^\s]+$/.test(baseUrl)) missing.url = ['must be an http(s) URL'];
  if (projectId === undefined) missing.project = ['is required: --project or RELEVO_PROJECT_ID'];
  if (apiKey === undefined) missing['api-key'] = ['is required: --api-key or RELEVO_API_KEY'];
  if (projectId === undefined || apiKey === undefined || Object.keys(missing).length > 0) {
    throw validationError(missing);
  }
  return new Relevo({ baseUrl, projectId, apiKey, basePath: '/v1' });
}

/** --events a,b: the types to keep; every type when absent. */
function eventFilter(args: ParsedArgs): ReadonlySet<string> {
  const raw = option(args, 'events');
  if (raw === undefined) return new Set(EVENT_TYPES);
  const types = raw.split(',').map((t) => t.trim());
  const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) {
    throw validationError({
      events: [`unknown event type ${unknown.join(', ')}: use ${EVENT_TYPES.join(', ')}`],
    });
  }
  return new Set(types);
}

/** Stops on Ctrl-C (SIGINT) or SIGTERM. */
function untilSignal(ctx: CliContext): AbortController {
  const controller = new AbortController();
  const signals = ctx.signals ?? process;
  const stop = () => controller.abort();
  signals.once('SIGINT', stop);
  signals.once('SIGTERM', stop);
  controller.signal.addEventListener('abort', () => {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
  });
  return controller;
}

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

/** Explains an error of the server or the network in one line, for the person at the terminal. */
function reason(e: unknown): string {
  if (e instanceof RelevoApiError) return `${e.status} ${e.code}: ${e.description}`;
  if (e instanceof RelevoConnectionError) return `relevo is not reachable (${e.message})`;
  return e instanceof Error ? e.message : String(e);
}

interface Forwarded {
  readonly status: number | null;
  readonly ms: number;
  readonly error?: string;
}

async function forward(url: string, e: StreamedEvent, secret: string): Promise<Forwarded> {
  const started = Date.now();
  try {
    const answer = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'relevo-listen',
        ...signEvent(e.raw, secret, e.id, Math.floor(Date.now() / 1000)),
      },
      body: e.raw,
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    await answer.arrayBuffer();
    return { status: answer.status, ms: Date.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return {
      status: null,
      ms: Date.now() - started,
      error: cause ?? (err instanceof Error ? err.message : String(err)),
    };
  }
}

export const DEV_COMMANDS: readonly Command[] = [
  {
    name: 'listen',
    summary: "Forward the project's events to a local URL, signed with a local secret",
    args: [],
    usage: '--forward-to URL [--events TYPES] [--secret S] [--url URL] [--project ID] [--api-key KEY]',
    options: {
      'forward-to': { type: 'string' },
      events: { type: 'string' },
      secret: { type: 'string' },
      ...SERVER_OPTIONS,
    },
    required: ['forward-to'],
    optionHelp: [
      ['--forward-to URL', 'where each event is POSTed, e.g. http://localhost:3000/hooks'],
      ['--events TYPES', 'only these types, comma-separated (conversation.start,message,conversation.close)'],
      ['--secret S', 'sign with this secret instead of a new one (to keep your receiver configured)'],
      ...SERVER_HELP,
    ],
    details:
      "Events come from the project's event stream as they are committed; after a reconnect (a server restart) the stream resumes after the last event, so none is lost. Each is POSTed with the same body and headers as a real delivery, signed with the printed secret. Ctrl-C stops.",
    async run(ctx, args) {
      const target = option(args, 'forward-to') ?? '';
      if (!/^https?:\/\/[^\s]+$/.test(target))
        throw validationError({ 'forward-to': ['must be an http(s) URL'] });
      const types = eventFilter(args);
      const relevo = client(args);
      const secret = option(args, 'secret') ?? randomHex(32);
      const stop = untilSignal(ctx);
      if (ctx.json) ctx.printJson({ ready: true, forwardTo: target, secret });
      else {
        ctx.out(`Ready. Forwarding the events of ${relevo.projectId} to ${target}`);
        ctx.out(`Signing secret: ${secret}   (verify X-Jelou-Signature and webhook-signature with it)`);
        ctx.out('Ctrl-C stops.');
      }
      try {
        for await (const e of relevo.events.stream({ signal: stop.signal })) {
          if (!types.has(e.type)) continue;
          const f = await forward(target, e, secret);
          if (ctx.json)
            ctx.printJson({
              id: e.id,
              type: e.type,
              status: f.status,
              ms: f.ms,
              ...(f.error ? { error: f.error } : {}),
            });
          else {
            const answer = f.status === null ? `failed (${f.error})` : String(f.status);
            ctx.out(`${clock()}  ${e.type.padEnd(18)} ${e.id}  → ${answer} in ${f.ms} ms`);
          }
        }
      } catch (e) {
        ctx.err(`relevo listen stopped: ${reason(e)}`);
        return 1;
      } finally {
        stop.abort();
      }
      return 0;
    },
  },
  {
    name: 'trigger',
    summary: "Send a sample event to the project's integration (a real delivery)",
    args: ['type'],
    choices: EVENT_TYPES,
    usage: '[--url URL] [--project ID] [--api-key KEY]',
    options: { ...SERVER_OPTIONS },
    optionHelp: SERVER_HELP,
    details:
      'TYPE is conversation.start, message or conversation.close. The event has the documented shape, goes through the outbox like any other (signed, retried, in the delivery log) and names the bot "relevo test events"; a start carries value.metadata {"test": true}.',
    async run(ctx, args) {
      const type = args.positionals[0] as EventType;
      const relevo = client(args);
      try {
        const sent = await relevo.events.test(type);
        if (ctx.json) ctx.printJson(sent);
        else
          ctx.out(
            `Sent a test ${type}: delivery ${sent.eventId} (see \`relevo deliveries show\` or the console).`,
          );
        return 0;
      } catch (e) {
        ctx.err(`relevo trigger: ${reason(e)}`);
        return 1;
      }
    },
  },
  {
    name: 'events tail',
    summary: "Print the project's events as they are committed",
    args: [],
    usage: '[--events TYPES] [--url URL] [--project ID] [--api-key KEY]',
    options: { events: { type: 'string' }, ...SERVER_OPTIONS },
    optionHelp: [['--events TYPES', 'only these types, comma-separated'], ...SERVER_HELP],
    details:
      'One line per event (with --json, the event as sent to the webhook, one JSON object per line). Ctrl-C stops.',
    async run(ctx, args) {
      const types = eventFilter(args);
      const relevo = client(args);
      const stop = untilSignal(ctx);
      try {
        for await (const e of relevo.events.stream({ signal: stop.signal })) {
          if (!types.has(e.type)) continue;
          if (ctx.json) ctx.printJson({ id: e.id, type: e.type, data: e.data });
          else {
            const conversation = (e.data as { conversation?: { id?: unknown } }).conversation?.id;
            const contact = (e.data as { contact?: { name?: unknown } }).contact?.name;
            ctx.out(
              `${clock()}  ${e.type.padEnd(18)} ${e.id}  ${typeof conversation === 'string' ? conversation : ''}  ${typeof contact === 'string' ? contact : ''}`.trimEnd(),
            );
          }
        }
      } catch (e) {
        ctx.err(`relevo events tail stopped: ${reason(e)}`);
        return 1;
      } finally {
        stop.abort();
      }
      return 0;
    },
  },
];
