/**
 * `relevo integrations …`: a project's webhook integration from the command line (docs/api.md
 * §4.1–§4.5), on the database directly with the same service as the HTTP routes, the network
 * policy included (RELEVO_WEBHOOK_ALLOW relaxes it, as for the server). Each prints what the
 * matching route answers as `data`.
 */

import { HostResolver } from '../delivery/host-resolver.js';
import { parseAllowList } from '../delivery/network-policy.js';
import { checkIntegrationUrl } from '../delivery/webhook-url.js';
import {
  createdIntegrationView,
  createIntegration,
  deleteIntegration,
  getIntegration,
  integrationView,
  regenerateSigningSecret,
  resolveAuthorization,
  updateIntegration,
} from '../domain/integrations/integration.service.js';
import { validationError } from '../errors.js';
import { AUTH_TYPES } from '../model/integration-views.js';
import type { AuthType } from '../model/types.js';
import { optionString, withProject } from './cli-store.js';
import type { Command } from './command.js';

const str = optionString;

function authType(value: string | undefined): AuthType | undefined {
  if (value === undefined) return undefined;
  const found = AUTH_TYPES.find((t) => t === value);
  if (found === undefined) throw validationError({ authType: [`must be one of: ${AUTH_TYPES.join(', ')}`] });
  return found;
}

export const INTEGRATION_COMMANDS: readonly Command[] = [
  {
    name: 'integrations get',
    summary: "Show a project's integration (never its secret nor its authorization)",
    args: ['projectId'],
    usage: '',
    options: {},
    run: (ctx, a) =>
      withProject(ctx, a.positionals[0] ?? '', async (store) =>
        integrationView(await getIntegration(store.queries, a.positionals[0] ?? '')),
      ),
  },
  {
    name: 'integrations set',
    summary: "Create a project's integration, or change the settings given",
    args: ['projectId'],
    usage: `[--webhook-url <url>] [--auth-type ${AUTH_TYPES.join('|')}] [--authorization <value>]`,
    options: {
      'webhook-url': { type: 'string' },
      'auth-type': { type: 'string' },
      authorization: { type: 'string' },
    },
    optionHelp: [
      ['--webhook-url <url>', 'where every event is POSTed; required to create'],
      ['--auth-type <type>', `${AUTH_TYPES.join(', ')} (default no_auth on creation)`],
      ['--authorization <value>', 'the token, key or user:password presented to the webhook'],
    ],
    details:
      'Without an integration, creates one and prints it with its signingSecret, shown this once\n' +
      '(as POST external-support/{projectId}). With one, changes only the options given and prints\n' +
      'it without secrets (as PATCH); that also re-enables an integration a 410 Gone disabled. The\n' +
      'URL is checked against the webhook network policy, which RELEVO_WEBHOOK_ALLOW relaxes.',
    async run(ctx, a) {
      const projectId = a.positionals[0] ?? '';
      const url = str(a, 'webhook-url');
      const type = authType(str(a, 'auth-type'));
      const authorization = str(a, 'authorization');
      const config = ctx.config();
      const policy = {
        allowList: parseAllowList(config.webhookAllow),
        resolve: new HostResolver({ servers: config.dnsServers }).resolve,
        owner: projectId,
      };
      return withProject(ctx, projectId, async (store) => {
        const now = Date.now();
        if (!(await store.queries.integrations.exists(projectId))) {
          if (url === undefined)
            throw validationError({ webhookUrl: ['is required to create the integration'] });
          const resolved = type ?? 'no_auth';
          const auth = resolveAuthorization(resolved, authorization, null);
          const webhookUrl = await checkIntegrationUrl(url, policy);
          const created = await store.transaction((tx) =>
            createIntegration(tx, { projectId, webhookUrl, authType: resolved, authorization: auth, now }),
          );
          return createdIntegrationView(created);
        }
        if (url === undefined && type === undefined && authorization === undefined) {
          throw validationError({
            options: ['give at least one of --webhook-url, --auth-type, --authorization'],
          });
        }
        const webhookUrl = url === undefined ? undefined : await checkIntegrationUrl(url, policy);
        const updated = await store.transaction((tx) =>
          updateIntegration(tx, projectId, { webhookUrl, authType: type, authorization }, now),
        );
        return integrationView(updated);
      });
    },
  },
  {
    name: 'integrations delete',
    summary: "Delete a project's integration; its undelivered events are cancelled",
    args: ['projectId'],
    usage: '',
    options: {},
    details:
      'Events stop at once: undelivered events stay in the delivery log as cancelled, never sent\n' +
      '(docs/api.md §4.4). Prints { brainId, deleted, cancelledEvents }.',
    run: (ctx, a) => {
      const projectId = a.positionals[0] ?? '';
      return withProject(ctx, projectId, async (store) => {
        const { cancelledEvents } = await store.transaction((tx) => deleteIntegration(tx, projectId));
        return { brainId: projectId, deleted: true, cancelledEvents };
      });
    },
  },
  {
    name: 'integrations rotate',
    summary: "Replace a project's signing secret (the new one is printed once)",
    args: ['projectId'],
    usage: '',
    options: {},
    details:
      'The old secret stops working at once: every delivery attempt from now on, retries of older\n' +
      'events included, is signed with the new one, as for secret/regenerate.',
    run: (ctx, a) => {
      const projectId = a.positionals[0] ?? '';
      return withProject(ctx, projectId, (store) =>
        store.transaction((tx) => regenerateSigningSecret(tx, projectId, Date.now())),
      );
    },
  },
];
