/**
 * A bot's engine through the admin API (docs/bots.md, "Engines"): rules by default, the external
 * engine's secret shown once and sealed at rest, rasa, regeneration, and every refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall, expectAdminError } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

let h: Harness;
let s: Seed;

beforeAll(async () => {
  h = await createHarness();
  s = await h.seed();
});
afterAll(async () => h?.close());

let n = 0;
async function newBot(): Promise<string> {
  const res = await adminCall(h, 'POST', `/admin/v1/projects/${s.project.id}/bots`, {
    name: `Engine ${n++}`,
    channel: 'http',
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

const engineUrl = (botId: string, tail = '') =>
  `/admin/v1/projects/${s.project.id}/bots/${botId}/engine${tail}`;

describe('the engine of a bot', () => {
  it('is rules by default', async () => {
    const bot = await newBot();
    const res = await adminCall(h, 'GET', engineUrl(bot));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ type: 'rules' });
  });

  it('shows the external secret on the first external setting only, never on a GET, and keeps it', async () => {
    const bot = await newBot();
    const first = await adminCall(h, 'PUT', engineUrl(bot), {
      type: 'external',
      webhookUrl: 'https://1.1.1.1/a',
    });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({
      type: 'external',
      webhookUrl: 'https://1.1.1.1/a',
      hasSigningSecret: true,
      signingSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const second = await adminCall(h, 'PUT', engineUrl(bot), {
      type: 'external',
      webhookUrl: 'https://1.1.1.1/b',
    });
    expect(second.body).toEqual({
      type: 'external',
      webhookUrl: 'https://1.1.1.1/b',
      hasSigningSecret: true,
    });
    const got = await adminCall(h, 'GET', engineUrl(bot));
    expect(got.body).toEqual({
      type: 'external',
      webhookUrl: 'https://1.1.1.1/b',
      hasSigningSecret: true,
    });
    expect(got.text).not.toContain(first.body.signingSecret);
    // Through rasa and back: the secret the bot verifies with stays.
    await adminCall(h, 'PUT', engineUrl(bot), { type: 'rasa', url: 'https://1.0.0.1' });
    const back = await adminCall(h, 'PUT', engineUrl(bot), {
      type: 'external',
      webhookUrl: 'https://1.1.1.1/c',
    });
    expect(back.body.signingSecret).toBeUndefined();
    const config = await h.store.queries.bots.getEngine(bot);
    expect(config?.signingSecret).toBe(first.body.signingSecret);
  });

  it('sets rasa and goes back to rules', async () => {
    const bot = await newBot();
    const rasa = await adminCall(h, 'PUT', engineUrl(bot), {
      type: 'rasa',
      url: 'https://1.0.0.1:5005',
    });
    expect(rasa.body).toEqual({ type: 'rasa', url: 'https://1.0.0.1:5005' });
    expect((await adminCall(h, 'GET', engineUrl(bot))).body).toEqual(rasa.body);
    const rules = await adminCall(h, 'PUT', engineUrl(bot), { type: 'rules' });
    expect(rules.body).toEqual({ type: 'rules' });
  });

  it('regenerates the external secret; 409 engine_has_no_secret for the others', async () => {
    const bot = await newBot();
    expectAdminError(
      await adminCall(h, 'POST', engineUrl(bot, '/secret/regenerate'), {}),
      409,
      'engine_has_no_secret',
    );
    const set = await adminCall(h, 'PUT', engineUrl(bot), {
      type: 'external',
      webhookUrl: 'https://1.1.1.1/',
    });
    const regen = await adminCall(h, 'POST', engineUrl(bot, '/secret/regenerate'), {});
    expect(regen.status, regen.text).toBe(200);
    expect(regen.body).toEqual({ signingSecret: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(regen.body.signingSecret).not.toBe(set.body.signingSecret);
    expect((await h.store.queries.bots.getEngine(bot))?.signingSecret).toBe(regen.body.signingSecret);
    await adminCall(h, 'PUT', engineUrl(bot), { type: 'rasa', url: 'https://1.0.0.1' });
    expectAdminError(
      await adminCall(h, 'POST', engineUrl(bot, '/secret/regenerate')),
      409,
      'engine_has_no_secret',
    );
  });

  it('refuses bodies that are not one of the three shapes, and URLs the network policy refuses', async () => {
    const bot = await newBot();
    for (const body of [
      {},
      { type: 'external' },
      { type: 'rasa' },
      { type: 'robot' },
      { type: 'rules', url: 'https://1.1.1.1' },
      { type: 'external', webhookUrl: 'https://1.1.1.1', extra: 1 },
      { type: 'external', webhookUrl: '' },
      { type: 'rasa', url: 'x'.repeat(2049) },
    ]) {
      expectAdminError(await adminCall(h, 'PUT', engineUrl(bot), body), 422, 'unprocessable_entity');
    }
    const metadata = await adminCall(h, 'PUT', engineUrl(bot), {
      type: 'external',
      webhookUrl: 'http://169.254.169.254/latest',
    });
    expectAdminError(metadata, 422, 'unprocessable_entity');
    expect(JSON.stringify(metadata.body)).toContain('webhookUrl');
    const rasa = await adminCall(h, 'PUT', engineUrl(bot), { type: 'rasa', url: 'http://10.0.0.5:5005' });
    expectAdminError(rasa, 422, 'unprocessable_entity');
    expect(rasa.body.validationError).toHaveProperty('url');
    expect((await adminCall(h, 'GET', engineUrl(bot))).body).toEqual({ type: 'rules' });
  });

  it('answers 404 for an unknown project or bot, and 401 without the admin token', async () => {
    const bot = await newBot();
    expectAdminError(
      await adminCall(h, 'GET', `/admin/v1/projects/prj_nope/bots/${bot}/engine`),
      404,
      'project_not_found',
    );
    expectAdminError(await adminCall(h, 'GET', engineUrl('bot_nope')), 404, 'bot_not_found');
    expectAdminError(
      await adminCall(h, 'PUT', engineUrl('bot_nope'), { type: 'rules' }),
      404,
      'bot_not_found',
    );
    const noToken = await adminCall(h, 'GET', engineUrl(bot), undefined, {});
    expectAdminError(noToken, 401, 'admin_unauthorized');
  });
});
