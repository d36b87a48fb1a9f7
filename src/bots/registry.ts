/** Which engine answers for a bot: the one its settings name (docs/bots.md, "Engines"). */
import type { Bot, BotEngineType } from '../model/types.js';
import type { BotEngine } from './engine.js';
import { externalEngine } from './external/external-engine.js';
import { rasaEngine } from './rasa/rasa-engine.js';
import { rulesEngine } from './rules/rules-engine.js';

const ENGINES: Readonly<Record<BotEngineType, BotEngine>> = {
  rules: rulesEngine,
  external: externalEngine,
  rasa: rasaEngine,
};

export function engineOf(bot: Bot): BotEngine {
  return ENGINES[bot.engine] ?? rulesEngine;
}
