/**
 * A webhook URL as a caller gives it (an integration's, from the API or the command line): its
 * length, then the network policy, answered as a validation error on `webhookUrl`.
 */
import { validationError } from '../errors.js';
import { type AllowList, checkWebhookUrl, type Resolver } from './network-policy.js';

/**
 * The longest webhook URL accepted. 2048 is the long-standing practical limit of browsers and
 * proxies; a webhook URL has no reason to be longer, and it is echoed by every GET.
 */
export const WEBHOOK_URL_MAX_LENGTH = 2048;

/**
 * The network policy (docs/webhooks.md), answered as a validation error on `webhookUrl` with the
 * caller's status. Call it before any transaction: it resolves DNS. The routes' schema checks
 * the length too; the command line has only this.
 */
export async function checkIntegrationUrl(
  url: string,
  policy: {
    readonly allowList: AllowList;
    readonly resolve?: Resolver | undefined;
    /** The project: its lookups queue apart from other projects'. */
    readonly owner?: string | undefined;
  },
  status?: number,
): Promise<string> {
  if (url.length === 0) throw validationError({ webhookUrl: ['must not be empty'] }, status);
  if (url.length > WEBHOOK_URL_MAX_LENGTH) {
    throw validationError({ webhookUrl: [`must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`] }, status);
  }
  const check = await checkWebhookUrl(url, policy.allowList, policy.resolve, policy.owner);
  if (!check.ok) throw validationError({ webhookUrl: [check.reason] }, status);
  // Stored as sent: the sender parses it with the same WHATWG parser, so it reaches the host
  // that was checked here (and checks the addresses again when it connects).
  return url;
}
