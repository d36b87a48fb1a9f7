/**
 * A bot's engine (docs/bots.md, "Engines"), as the admin API and the `relevo bots engine`
 * command set it. URLs go through the network policy first, outside the transaction (it
 * resolves DNS), exactly as integrations' do.
 */
import {
  type EngineSet,
  type EngineSetting,
  type EngineView,
  getBotEngine,
  regenerateEngineSecret,
  setBotEngine,
} from '../domain/bots/engine.service.js';
import { requireProject } from '../domain/projects/project.service.js';
import { validationError } from '../errors.js';
import { type AdminContext, checkedWebhookUrl } from './operations.js';

export const ENGINE_TYPES = ['rules', 'external', 'rasa'] as const;

/** The body of a PUT, or the command line's options, as one of the three shapes. */
export interface EngineInput {
  readonly type: string;
  readonly webhookUrl?: string | undefined;
  readonly url?: string | undefined;
}

async function checkedSetting(
  ctx: AdminContext,
  projectId: string,
  input: EngineInput,
): Promise<EngineSetting> {
  switch (input.type) {
    case 'rules':
      return { type: 'rules' };
    case 'external':
      if (input.webhookUrl === undefined) throw validationError({ webhookUrl: ['is required'] });
      return { type: 'external', webhookUrl: await checkedWebhookUrl(ctx, input.webhookUrl, projectId) };
    case 'rasa':
      if (input.url === undefined) throw validationError({ url: ['is required'] });
      return { type: 'rasa', url: await checkedWebhookUrl(ctx, input.url, projectId, 'url') };
    default:
      throw validationError({ type: [`must be one of: ${ENGINE_TYPES.join(', ')}`] });
  }
}

export const engineOps = {
  async get(ctx: AdminContext, projectId: string, botId: string): Promise<EngineView> {
    await requireProject(ctx.store.queries, projectId);
    return getBotEngine(ctx.store.queries, projectId, botId);
  },

  async set(ctx: AdminContext, projectId: string, botId: string, input: EngineInput): Promise<EngineSet> {
    await requireProject(ctx.store.queries, projectId);
    const setting = await checkedSetting(ctx, projectId, input);
    return ctx.store.transaction((tx) => setBotEngine(tx, projectId, botId, setting, ctx.clock()));
  },

  async regenerate(ctx: AdminContext, projectId: string, botId: string): Promise<{ signingSecret: string }> {
    await requireProject(ctx.store.queries, projectId);
    return ctx.store.transaction((tx) => regenerateEngineSecret(tx, projectId, botId, ctx.clock()));
  },
};
