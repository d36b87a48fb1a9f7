/**
 * Which engine answers a bot's end users (docs/bots.md, "Engines"), as the admin API and the
 * command line set it. URLs are checked against the network policy by the caller, before the
 * transaction (it resolves DNS).
 */
import { ApiError } from '../../errors.js';
import { newSigningSecret } from '../../model/ids.js';
import type { Bot, BotEngineConfig } from '../../model/types.js';
import type { Queries, Tx } from '../../storage/store.js';

export type EngineSetting =
  | { readonly type: 'rules' }
  | { readonly type: 'external'; readonly webhookUrl: string }
  | { readonly type: 'rasa'; readonly url: string };

export type EngineView =
  | { type: 'rules' }
  | { type: 'external'; webhookUrl: string; hasSigningSecret: true }
  | { type: 'rasa'; url: string };

/** What a PUT answers: the engine, and the external engine's secret when it was just made. */
export type EngineSet = EngineView & { signingSecret?: string };

async function liveBot(q: Queries, projectId: string, botId: string): Promise<Bot> {
  const bot = await q.bots.get(projectId, botId);
  if (bot === undefined) {
    throw new ApiError('bot_not_found', `No bot with id ${JSON.stringify(botId)} exists in this project.`);
  }
  return bot;
}

function view(bot: Bot, config: BotEngineConfig | undefined): EngineView {
  if (bot.engine === 'external' && config?.webhookUrl != null) {
    return { type: 'external', webhookUrl: config.webhookUrl, hasSigningSecret: true };
  }
  if (bot.engine === 'rasa' && config?.rasaUrl != null) return { type: 'rasa', url: config.rasaUrl };
  return { type: 'rules' };
}

export async function getBotEngine(q: Queries, projectId: string, botId: string): Promise<EngineView> {
  const bot = await liveBot(q, projectId, botId);
  return view(bot, bot.engine === 'rules' ? undefined : await q.bots.getEngine(bot.id));
}

/**
 * Sets the bot's engine. Events already queued for an outside engine are engine-neutral (the
 * panel's event shapes): they go, in order, to whichever outside engine the bot has when they
 * are attempted, so switching between `external` and `rasa`, or changing a URL, loses none of
 * them. Switching back to `rules` cancels them, with the reason in the delivery log: the rule bot
 * answers new messages at once, and old ones answered late would arrive out of turn.
 */
export async function setBotEngine(
  tx: Tx,
  projectId: string,
  botId: string,
  setting: EngineSetting,
  now: number,
): Promise<EngineSet> {
  const bot = await liveBot(tx, projectId, botId);
  const before = await tx.bots.getEngine(bot.id);
  // The first external setting makes the secret; later ones keep it (the bot already verifies
  // with it), whatever engines came in between.
  const fresh = setting.type === 'external' && before?.signingSecret == null ? newSigningSecret() : undefined;
  const config: BotEngineConfig = {
    botId: bot.id,
    webhookUrl: setting.type === 'external' ? setting.webhookUrl : (before?.webhookUrl ?? null),
    rasaUrl: setting.type === 'rasa' ? setting.url : (before?.rasaUrl ?? null),
    signingSecret: fresh ?? before?.signingSecret ?? null,
    createdAt: before?.createdAt ?? now,
    updatedAt: now,
  };
  await tx.bots.setEngine(projectId, setting.type, config);
  if (setting.type === 'rules' && bot.engine !== 'rules') {
    await tx.outbox.cancelPendingForBot(bot.id, `the bot's engine changed from ${bot.engine} to rules`);
  }
  const engine = view({ ...bot, engine: setting.type }, config);
  return fresh === undefined ? engine : { ...engine, signingSecret: fresh };
}

/** A new signing secret for the external engine; it signs every later attempt, retries included. */
export async function regenerateEngineSecret(
  tx: Tx,
  projectId: string,
  botId: string,
  now: number,
): Promise<{ signingSecret: string }> {
  const bot = await liveBot(tx, projectId, botId);
  const config = bot.engine === 'external' ? await tx.bots.getEngine(bot.id) : undefined;
  if (config === undefined) {
    throw new ApiError(
      'engine_has_no_secret',
      `Bot ${JSON.stringify(bot.id)} runs the ${bot.engine} engine, which has no signing secret.`,
    );
  }
  const signingSecret = newSigningSecret();
  await tx.bots.setEngine(projectId, 'external', { ...config, signingSecret, updatedAt: now });
  return { signingSecret };
}
