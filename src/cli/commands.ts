/**
 * The subcommands of `relevo`. The administration commands act on the database named by
 * DATABASE_URL directly, so an operator can bootstrap a fresh install before any server runs;
 * they call the very operations behind the admin API, so both answer with the same JSON.
 */

import { readFile } from 'node:fs/promises';
import { ENGINE_TYPES, engineOps } from '../admin/engine-operations.js';
import {
  CHANNELS,
  DEFAULT_GRAPH_API_VERSION,
  NAME_MAX,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  REFERENCE_ID_MAX,
  WEBHOOK_URL_MAX,
} from '../admin/limits.js';
import { type AdminContext, adminOps, parsePage } from '../admin/operations.js';
import { HostResolver } from '../delivery/host-resolver.js';
import { parseAllowList } from '../delivery/network-policy.js';
import { validationError } from '../errors.js';
import { MIGRATIONS } from '../storage/migrations/index.js';
import { openStore } from '../storage/open-store.js';
import { ADMIN_TOKEN_COMMANDS } from './admin-token-command.js';
import { migrateShowingProgress, optionString, withStore } from './cli-store.js';
import type { Command, Options, ParsedArgs } from './command.js';
import { completionCommand } from './completion-command.js';
import type { CliContext } from './context.js';
import { CONVERSATION_COMMANDS } from './conversation-commands.js';
import { DELIVERY_COMMANDS } from './delivery-commands.js';
import { DEV_COMMANDS } from './dev-commands.js';
import { INTEGRATION_COMMANDS } from './integration-commands.js';
import { LIFECYCLE_COMMANDS } from './lifecycle-commands.js';
import { RECEIVE_COMMAND } from './receive-command.js';

const str = optionString;
const arg = (args: ParsedArgs, i: number): string => args.positionals[i] ?? '';
const flag = (args: ParsedArgs, name: string): boolean => args.values[name] === true;

const PAGE_OPTIONS: Options = { limit: { type: 'string' }, after: { type: 'string' } };
const PAGE_HELP = [
  ['--limit <n>', `items per page, 1 to ${PAGE_LIMIT_MAX} (default ${PAGE_LIMIT_DEFAULT})`],
  ['--after <cursor>', 'the nextCursor of the previous page'],
] as const;

/** The admin operations' context on the store of DATABASE_URL (see withStore). */
function withAdmin<T>(ctx: CliContext, fn: (admin: AdminContext) => Promise<T>): Promise<number> {
  const config = ctx.config();
  const allowList = parseAllowList(config.webhookAllow);
  const resolve = new HostResolver({ servers: config.dnsServers }).resolve;
  return withStore(ctx, (store) => fn({ store, clock: Date.now, allowList, resolve }));
}

export const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    summary: 'Run the gateway until SIGTERM or SIGINT',
    args: [],
    usage: '',
    options: {},
    details:
      'Listens on HOST:PORT, creating and migrating the database as needed. On SIGTERM or SIGINT it\n' +
      'stops accepting, finishes in-flight requests and exits 0; a second signal, or\n' +
      'RELEVO_SHUTDOWN_TIMEOUT_MS passing, exits 1 at once. Logs are JSON lines on stdout.',
    async run(ctx) {
      const config = ctx.config();
      // Loaded here, not at the top: the HTTP stack is the bulk of start-up time, and the
      // administration commands and --help never need it.
      const { exitOnSignals, serve } = await import('../server.js');
      const running = await serve(config);
      // Resolves with the exit code once shutdown has finished (or been cut short).
      return new Promise<number>((resolve) => {
        exitOnSignals(running, {
          timeoutMs: config.shutdownTimeoutMs,
          exit: resolve,
          ...(ctx.signals === undefined ? {} : { source: ctx.signals }),
        });
      });
    },
  },
  {
    name: 'migrate',
    summary: 'Apply pending database migrations',
    args: [],
    usage: '',
    options: {},
    details:
      'Prints each migration applied, or "up to date" when there was none to apply; with --json,\n' +
      '{ "applied": [{ "version", "name" }] }. On a terminal, stderr shows which one is running.',
    async run(ctx) {
      const config = ctx.config();
      const store = await openStore(config.databaseUrl, { listenUrl: config.databaseListenUrl });
      try {
        const applied = await migrateShowingProgress(store, ctx);
        const named = applied.map((version) => ({
          version,
          name: MIGRATIONS.find((m) => m.version === version)?.name ?? '',
        }));
        if (ctx.json) {
          ctx.printJson({ applied: named });
          return 0;
        }
        if (applied.length === 0) ctx.out('up to date');
        for (const { version, name } of named) {
          ctx.out(`applied ${String(version).padStart(4, '0')} ${name}`.trimEnd());
        }
        return 0;
      } finally {
        await store.close();
      }
    },
  },
  RECEIVE_COMMAND,
  {
    name: 'projects create',
    summary: 'Create a project and its first credential (secrets are printed once)',
    args: [],
    usage: '--name <name>',
    options: { name: { type: 'string' } },
    required: ['name'],
    optionHelp: [['--name <name>', `1 to ${NAME_MAX} characters`]],
    run: (ctx, a) => withAdmin(ctx, (admin) => adminOps.createProject(admin, str(a, 'name') ?? '')),
  },
  {
    name: 'projects list',
    summary: 'List projects, oldest first',
    args: [],
    usage: '[--limit <n>] [--after <cursor>]',
    options: PAGE_OPTIONS,
    optionHelp: PAGE_HELP,
    run: (ctx, a) =>
      withAdmin(ctx, (admin) => adminOps.listProjects(admin, parsePage(str(a, 'limit'), str(a, 'after')))),
  },
  {
    name: 'projects show',
    summary: 'Show a project and its credentials (no secrets)',
    args: ['projectId'],
    usage: '',
    options: {},
    run: (ctx, a) => withAdmin(ctx, (admin) => adminOps.showProject(admin, arg(a, 0))),
  },
  {
    name: 'credentials create',
    summary: 'Add a credential to a project (secrets are printed once)',
    args: ['projectId'],
    usage: '',
    options: {},
    run: (ctx, a) => withAdmin(ctx, (admin) => adminOps.createCredential(admin, arg(a, 0))),
  },
  {
    name: 'credentials revoke',
    summary: 'Revoke a credential; it stops working at once',
    args: ['projectId', 'credentialId'],
    usage: '',
    options: {},
    run: (ctx, a) => withAdmin(ctx, (admin) => adminOps.revokeCredential(admin, arg(a, 0), arg(a, 1))),
  },
  {
    name: 'bots create',
    summary: 'Create a bot',
    args: ['projectId'],
    usage: `--name <name> [--channel ${CHANNELS.join('|')}]`,
    options: { name: { type: 'string' }, channel: { type: 'string' } },
    required: ['name'],
    optionHelp: [
      ['--name <name>', `1 to ${NAME_MAX} characters; events show it as bot.name`],
      ['--channel <kind>', `${CHANNELS.join(' or ')} (default webchat)`],
    ],
    run: (ctx, a) =>
      withAdmin(ctx, (admin) =>
        adminOps.createBot(admin, arg(a, 0), { name: str(a, 'name') ?? '', channel: str(a, 'channel') }),
      ),
  },
  {
    name: 'bots list',
    summary: "List a project's bots, oldest first",
    args: ['projectId'],
    usage: '[--limit <n>] [--after <cursor>]',
    options: PAGE_OPTIONS,
    optionHelp: PAGE_HELP,
    run: (ctx, a) =>
      withAdmin(ctx, (admin) =>
        adminOps.listBots(admin, arg(a, 0), parsePage(str(a, 'limit'), str(a, 'after'))),
      ),
  },
  {
    name: 'bots rules',
    summary: "Show a bot's rules, set them from a JSON file, or reset them to the defaults",
    args: ['projectId', 'botId'],
    usage: '[--file <rules.json> | --reset]',
    options: { file: { type: 'string' }, reset: { type: 'boolean' } },
    optionHelp: [
      ['--file <rules.json>', 'replace the rules with the ones in this file (checked as the admin API does)'],
      ['--reset', 'go back to the built-in default rules'],
    ],
    details:
      'Without an option, prints the rules in effect as { rules, isDefault }. With --file, prints\n' +
      'the rules stored; with --reset, the defaults. The format is described in docs/bots.md.',
    async run(ctx, a) {
      const file = str(a, 'file');
      if (file !== undefined && flag(a, 'reset')) {
        throw validationError({ reset: ['cannot be combined with --file'] });
      }
      // Read before the database is opened: a missing file should not leave a fresh one behind.
      const rules = file === undefined ? undefined : await readRulesFile(file);
      return withAdmin(ctx, (admin): Promise<unknown> => {
        if (rules !== undefined) return adminOps.setBotRules(admin, arg(a, 0), arg(a, 1), rules.value);
        if (flag(a, 'reset')) return adminOps.resetBotRules(admin, arg(a, 0), arg(a, 1));
        return adminOps.botRules(admin, arg(a, 0), arg(a, 1));
      });
    },
  },
  {
    name: 'bots channel',
    summary:
      "Show a bot's channel, or configure an http bot's webhook and key or a whatsapp bot's Cloud API settings",
    args: ['projectId', 'botId'],
    usage:
      '[--webhook-url <url>] [--regenerate-key] [--phone-number-id <id>] [--access-token <token>] [--app-secret <secret>] [--verify-token <text>] [--graph-api-version <v>]',
    options: {
      'webhook-url': { type: 'string' },
      'regenerate-key': { type: 'boolean' },
      'phone-number-id': { type: 'string' },
      'access-token': { type: 'string' },
      'app-secret': { type: 'string' },
      'verify-token': { type: 'string' },
      'graph-api-version': { type: 'string' },
    },
    optionHelp: [
      [
        '--webhook-url <url>',
        `http: where messages for the end users are POSTed (http(s), at most ${WEBHOOK_URL_MAX} characters)`,
      ],
      ['--regenerate-key', 'http: replace the signing key; the old one stops working at once'],
      ['--phone-number-id <id>', "whatsapp: the phone number ID of Meta's API Setup (digits)"],
      ['--access-token <token>', 'whatsapp: a system user token with whatsapp_business_messaging'],
      ['--app-secret <secret>', "whatsapp: the Meta app's secret, which signs its webhooks"],
      ['--verify-token <text>', "whatsapp: any text; Meta's verification request must carry it"],
      ['--graph-api-version <v>', `whatsapp: e.g. ${DEFAULT_GRAPH_API_VERSION} (the default)`],
    ],
    details:
      'Without an option, prints the channel (never the signing key, the access token or the app\n' +
      'secret). An http bot is configured by its first --webhook-url or --regenerate-key, which\n' +
      'creates its signing key; the key is printed then and on each regeneration only. The URL is\n' +
      'checked against the webhook network policy, which RELEVO_WEBHOOK_ALLOW relaxes. A whatsapp\n' +
      'bot needs --phone-number-id, --access-token, --app-secret and --verify-token the first time,\n' +
      'then any of them; saving re-enables a sending that Meta refused (error 190). The webhook path\n' +
      "printed goes after this server's public origin in the Meta app's callback URL\n" +
      '(docs/channels.md, "WhatsApp"). A webchat bot needs no configuration.',
    run: (ctx, a) =>
      withAdmin(ctx, async (admin) => {
        const [projectId, botId] = [arg(a, 0), arg(a, 1)];
        const webhookUrl = str(a, 'webhook-url');
        const regenerate = flag(a, 'regenerate-key');
        const whatsapp = {
          phoneNumberId: str(a, 'phone-number-id'),
          accessToken: str(a, 'access-token'),
          appSecret: str(a, 'app-secret'),
          verifyToken: str(a, 'verify-token'),
          graphApiVersion: str(a, 'graph-api-version'),
        };
        const waGiven = Object.values(whatsapp).some((v) => v !== undefined);
        if (webhookUrl === undefined && !regenerate && !waGiven) {
          return adminOps.botChannel(admin, projectId, botId);
        }
        const configured =
          webhookUrl === undefined && !waGiven
            ? undefined
            : await adminOps.configureBotChannel(admin, projectId, botId, { webhookUrl, ...whatsapp });
        // Regenerating last means the key printed is the one in force.
        return regenerate ? adminOps.regenerateChannelKey(admin, projectId, botId) : configured;
      }),
  },
  {
    name: 'bots engine get',
    summary: "Show what answers a bot's users: rules, external or rasa (never the signing secret)",
    args: ['projectId', 'botId'],
    usage: '',
    options: {},
    run: (ctx, a) => withAdmin(ctx, (admin) => engineOps.get(admin, arg(a, 0), arg(a, 1))),
  },
  {
    name: 'bots engine set',
    summary: "Set what answers a bot's users",
    args: ['projectId', 'botId'],
    usage: '--type rules|external|rasa [--url <url>]',
    options: { type: { type: 'string' }, url: { type: 'string' } },
    required: ['type'],
    optionHelp: [
      ['--type <type>', ENGINE_TYPES.join(', ')],
      ['--url <url>', "external: the bot's webhook; rasa: the Rasa server (its REST channel is under it)"],
    ],
    details:
      'The first external setting prints the signing secret the bot verifies its events with, once.\n' +
      'URLs are checked against the webhook network policy (RELEVO_WEBHOOK_ALLOW relaxes it).\n' +
      'Events waiting for an outside engine go to the one set now; switching to rules cancels them.',
    run: (ctx, a) =>
      withAdmin(ctx, (admin) => {
        const type = str(a, 'type') ?? '';
        const url = str(a, 'url');
        return engineOps.set(
          admin,
          arg(a, 0),
          arg(a, 1),
          type === 'external' ? { type, webhookUrl: url } : { type, url },
        );
      }),
  },
  {
    name: 'bots engine regenerate',
    summary: "Replace an external engine's signing secret (printed once; the old one stops at once)",
    args: ['projectId', 'botId'],
    usage: '',
    options: {},
    run: (ctx, a) => withAdmin(ctx, (admin) => engineOps.regenerate(admin, arg(a, 0), arg(a, 1))),
  },
  {
    name: 'users create',
    summary: 'Create an end user',
    args: ['projectId'],
    usage: '--names <names> [--reference-id <id>]',
    options: { names: { type: 'string' }, 'reference-id': { type: 'string' } },
    required: ['names'],
    optionHelp: [
      ['--names <names>', `1 to ${NAME_MAX} characters; events show it as contact.name`],
      [
        '--reference-id <id>',
        `the user's id in your own systems (1 to ${REFERENCE_ID_MAX} characters); unique in the project`,
      ],
    ],
    run: (ctx, a) =>
      withAdmin(ctx, (admin) =>
        adminOps.createEndUser(admin, arg(a, 0), {
          names: str(a, 'names') ?? '',
          referenceId: str(a, 'reference-id'),
        }),
      ),
  },
  {
    name: 'users list',
    summary: "List a project's end users, oldest first",
    args: ['projectId'],
    usage: '[--limit <n>] [--after <cursor>]',
    options: PAGE_OPTIONS,
    optionHelp: PAGE_HELP,
    run: (ctx, a) =>
      withAdmin(ctx, (admin) =>
        adminOps.listEndUsers(admin, arg(a, 0), parsePage(str(a, 'limit'), str(a, 'after'))),
      ),
  },
  ...DELIVERY_COMMANDS,
  ...LIFECYCLE_COMMANDS,
  ...CONVERSATION_COMMANDS,
  ...INTEGRATION_COMMANDS,
  ...ADMIN_TOKEN_COMMANDS,
  ...DEV_COMMANDS,
  // Reads this very table when it runs, to complete every command above.
  completionCommand(() => COMMANDS),
];

/** The JSON in a rules file; a file that is not JSON is a bad value (exit 2), like bad rules. */
async function readRulesFile(path: string): Promise<{ value: unknown }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    // Node's message names the path and the reason (ENOENT: no such file or directory, …).
    throw new Error(`cannot read the rules file: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    throw validationError({ file: [`is not valid JSON: ${e instanceof Error ? e.message : String(e)}`] });
  }
}
