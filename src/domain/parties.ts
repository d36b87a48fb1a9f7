/**
 * A room's other parties, as the domain sees them: the bot engine that answers for its bot, and
 * the channel that carries messages to its end user. Both live above the domain (bots/,
 * channels/) and call down into it (the http channel appends events to the outbox), so the
 * domain reaches them only through their interfaces, wired once at start-up by the process's
 * composition root (src/parties.ts, called by buildApp, the CLI and the test set-up).
 *
 * A process-wide registry rather than an argument threaded through every service: engines and
 * channels are fixed per process (chosen by each bot's own settings, not by the caller), and the
 * domain's ~20 entry points would otherwise all grow a parameter that every caller passes the
 * same way.
 */
import type { BotEngine } from '../bots/engine.js';
import type { Channel } from '../channels/channel.js';
import type { Bot } from '../model/types.js';

export interface Parties {
  engineOf(bot: Bot): BotEngine;
  channelOf(bot: Bot): Channel;
}

let wired: Parties | undefined;

export function wireParties(parties: Parties): void {
  wired = parties;
}

export function parties(): Parties {
  if (wired === undefined) {
    throw new Error('No bot engines or channels are wired: call connectParties() from src/parties.ts first.');
  }
  return wired;
}
