/** The admin objects' limits, shared by the admin schemas, operations and the CLI's help. */
import type { ChannelKind } from '../model/types.js';

export const NAME_MAX = 200;
export const REFERENCE_ID_MAX = 200;
export const CHANNELS: readonly ChannelKind[] = ['webchat', 'http'];
export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 200;
/** As for integrations: browsers' and proxies' practical limit; a webhook URL needs no more. */
export const WEBHOOK_URL_MAX = 2048;
