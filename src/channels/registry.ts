/** Which channel implementation serves a bot, by the bot's channel kind. */
import type { Bot } from '../model/types.js';
import type { Channel } from './channel.js';
import { httpChannel } from './http/http-channel.js';
import { webchatChannel } from './webchat/webchat-channel.js';
import { whatsappChannel } from './whatsapp/whatsapp-channel.js';

const CHANNELS: Record<Bot['channel'], Channel> = {
  http: httpChannel,
  webchat: webchatChannel,
  whatsapp: whatsappChannel,
};

export function channelOf(bot: Bot): Channel {
  return CHANNELS[bot.channel];
}
