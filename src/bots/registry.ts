/** Which engine answers for a bot. Every bot runs the built-in rule bot today. */
import type { Bot } from '../model/types.js';
import type { BotEngine } from './engine.js';
import { rulesEngine } from './rules/rules-engine.js';

export function engineOf(_bot: Bot): BotEngine {
  return rulesEngine;
}
