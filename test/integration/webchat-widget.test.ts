/**
 * The embeddable widget's routes: GET /webchat/{botId}/widget.js (the launcher script, or a
 * warning for an id that is no web chat bot) and the chat page's framed variant, `?embed=1`,
 * which any site may frame while the plain page keeps its own rule.
 */
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/domain/projects/project.service.js';
import type { Bot } from '../../src/model/types.js';
import { call } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

let h: Harness;
let s: Seed;
let oddBot: Bot;
let httpBot: Bot;

beforeAll(async () => {
  h = await createHarness();
  s = await h.seed('Acme');
  [oddBot, httpBot] = await h.store.transaction(async (tx) => [
    await createBot(tx, s.project.id, 'Odd "Bot" </script>\u2028', 'webchat', Date.now()),
    await createBot(tx, s.project.id, 'App Bot', 'http', Date.now()),
  ]);
});
afterAll(async () => h.close());

const get = (url: string, accept = 'text/html') => call(h.app, { method: 'GET', url, headers: { accept } });

/** The directives of a response's one Content-Security-Policy header. */
function directives(res: { headers: Record<string, unknown> }): string[] {
  const csp = res.headers['content-security-policy'];
  expect(typeof csp).toBe('string');
  return String(csp)
    .split(';')
    .map((d) => d.trim());
}

/** Runs a widget.js answer as a browser would, with a console and a document that has no <script> running it. */
function run(body: string): string[] {
  const warnings: string[] = [];
  runInNewContext(body, {
    console: { warn: (m: string) => warnings.push(m) },
    document: { currentScript: null },
    HTMLScriptElement: class {},
  });
  return warnings;
}

describe('GET /webchat/{botId}/widget.js', () => {
  it('is a script any site may load, with the bot bound to it', async () => {
    const res = await get(`/webchat/${s.bot.id}/widget.js`, '*/*');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.body.startsWith('(function (RELEVO_WIDGET) {\n"use strict";')).toBe(true);
    expect(
      res.body.endsWith(
        `})(${JSON.stringify({ botId: s.bot.id, name: s.bot.name, frameAncestors: null })});\n`,
      ),
    ).toBe(true);
    // Runs without a ReferenceError: the name the bundle reads is bound. Outside a <script src>
    // tag, it only says so.
    expect(run(res.body)).toEqual([
      'relevo web chat: load widget.js with a <script src="…"> tag; the chat button is not shown.',
    ]);
  });

  it("carries the bot's name as a JavaScript string, whatever it contains", async () => {
    const res = await get(`/webchat/${oddBot.id}/widget.js`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(
      `})({"botId":"${oddBot.id}","name":"Odd \\"Bot\\" </script>\\u2028","frameAncestors":null});\n`,
    );
    expect(run(res.body)).toHaveLength(1);
  });

  it('is a warning, not cached, for an unknown bot and for a bot of another channel', async () => {
    for (const id of ['bot_doesnotexist', httpBot.id]) {
      const res = await get(`/webchat/${id}/widget.js`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(run(res.body)).toEqual([
        `relevo web chat: there is no web chat bot with the id "${id}"; check the id in widget.js's URL. The chat button is not shown.`,
      ]);
    }
  });

  it('cannot be made to run code through the id in its URL', async () => {
    const res = await get(`/webchat/${encodeURIComponent('x");alert(1);("\u2028')}/widget.js`);
    expect(res.statusCode).toBe(200);
    expect(run(res.body)).toEqual([
      'relevo web chat: there is no web chat bot with the id "x\\");alert(1);(\\"\u2028"; check the id in widget.js\'s URL. The chat button is not shown.',
    ]);
    expect(res.body).not.toContain('\u2028');
  });
});

describe('the framed page, ?embed=1', () => {
  it('may be framed by any site, with the same strict policy otherwise', async () => {
    const plain = await get(`/webchat/${s.bot.id}`);
    const framed = await get(`/webchat/${s.bot.id}?embed=1`);
    expect(framed.statusCode).toBe(200);
    expect(framed.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = directives(framed);
    expect(csp.filter((d) => d.startsWith('frame-ancestors'))).toEqual(['frame-ancestors *']);
    expect(framed.headers['x-frame-options']).toBeUndefined();
    // Everything else as on the plain page (but the nonce).
    const others = (d: string[]) =>
      d.filter((x) => !x.startsWith('frame-ancestors')).map((x) => x.replace(/'nonce-[^']+'/, "'nonce'"));
    expect(others(csp)).toEqual(others(directives(plain)));
    expect(csp.join('; ')).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(framed.body).toContain('<html lang="en" data-embed="1">');
    expect(plain.body).toContain('<html lang="en" data-embed="0">');
    // The plain page keeps its rule.
    expect(directives(plain)).toContain("frame-ancestors 'self'");
    expect(plain.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  it('shows the not-found page in the frame when the bot is gone', async () => {
    const res = await get(`/webchat/bot_doesnotexist?embed=1`);
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('Chat not found');
    expect(directives(res)).toContain('frame-ancestors *');
  });

  it("follows RELEVO_WEBCHAT_FRAME_ANCESTORS when the operator lists sites, or 'none'", async () => {
    const listed = await createHarness({ RELEVO_WEBCHAT_FRAME_ANCESTORS: 'https://shop.example.com' });
    const none = await createHarness({ RELEVO_WEBCHAT_FRAME_ANCESTORS: "'none'" });
    try {
      const a = await listed.seed();
      const res = await call(listed.app, { method: 'GET', url: `/webchat/${a.bot.id}?embed=1` });
      expect(directives(res)).toContain('frame-ancestors https://shop.example.com');
      expect(res.headers['x-frame-options']).toBeUndefined();
      // The widget knows the list, and shows no button on the other sites.
      const script = await call(listed.app, { method: 'GET', url: `/webchat/${a.bot.id}/widget.js` });
      expect(script.body).toContain(`"frameAncestors":["https://shop.example.com"]});\n`);
      const b = await none.seed();
      const refused = await call(none.app, { method: 'GET', url: `/webchat/${b.bot.id}?embed=1` });
      expect(directives(refused)).toContain("frame-ancestors 'none'");
      expect(refused.headers['x-frame-options']).toBe('DENY');
    } finally {
      await listed.close();
      await none.close();
    }
  });
});
