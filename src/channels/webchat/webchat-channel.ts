/**
 * The built-in web chat. Its history is the room's messages; a browser that is connected gets
 * each new message pushed live after the commit (see the web chat's live hub), and one that
 * reconnects reads what it missed from the history. Nothing more to queue.
 */
import type { Channel } from '../channel.js';

export const webchatChannel: Channel = {
  kind: 'webchat',
  async queueForUser() {},
};
