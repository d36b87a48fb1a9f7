/** The admin objects' limits, shared by the admin schemas, operations and the CLI's help. */
import type { ChannelKind } from '../model/types.js';

export const NAME_MAX = 200;
export const REFERENCE_ID_MAX = 200;
export const CHANNELS: readonly ChannelKind[] = ['webchat', 'http', 'whatsapp'];
/** Meta's ids are numbers; a token or secret longer than this is not one Meta issued. */
export const WHATSAPP_ID = /^[0-9]{1,32}$/;
export const WHATSAPP_SECRET_MAX = 4096;
/** The Graph API version of a whatsapp channel configured without one. */
export const DEFAULT_GRAPH_API_VERSION = 'v23.0';
export const WHATSAPP_VERSION = /^v[0-9]{1,3}\.[0-9]{1,2}$/;
export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 200;
/** As for integrations: browsers' and proxies' practical limit; a webhook URL needs no more. */
export const WEBHOOK_URL_MAX = 2048;
