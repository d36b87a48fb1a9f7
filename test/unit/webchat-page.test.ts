/**
 * The web chat page as the server fills it from the built files in dist/web/webchat/
 * (web/webchat/chat.html and not-found.html): the bot's name is escaped and taken literally, the
 * stylesheet and script are inlined once each with the nonce, and no placeholder is left.
 */
import { describe, expect, it } from 'vitest';
import { chatPage, notFoundPage } from '../../src/channels/webchat/webchat-page.js';

describe('chatPage', () => {
  it('escapes the bot name and never reads placeholders inside it', () => {
    const html = chatPage({ botName: '{{script}} <b>"Ana" & co</b>', nonce: 'n0nce+/=' });
    expect(html).toContain('<title>{{script}} &#60;b&#62;&#34;Ana&#34; &#38; co&#60;/b&#62;</title>');
    expect(html).toContain('<body data-bot-name="{{script}} &#60;b&#62;&#34;Ana&#34; &#38; co&#60;/b&#62;">');
    expect(html).toContain('<div class="avatar" id="avatar" aria-hidden="true">{</div>');
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html.match(/<style\b/g)).toHaveLength(1);
    expect(html).toContain('<script nonce="n0nce+/=">\n"use strict";');
    expect(html).toContain('<style nonce="n0nce+/=">\n:root {');
    expect(html.replace(/\{\{script\}\}/g, '')).not.toMatch(/\{\{\w+\}\}/);
  });

  it("marks the widget's framed variant on the root element, and only that one", () => {
    expect(chatPage({ botName: 'Ana', nonce: 'n' })).toContain('<html lang="en" data-embed="0">');
    expect(chatPage({ botName: 'Ana', nonce: 'n', embed: true })).toContain(
      '<html lang="en" data-embed="1">',
    );
  });

  it('the not-found page carries the nonce and the inline icon', () => {
    const html = notFoundPage('abc');
    expect(html).toContain('<style nonce="abc">');
    expect(html).toMatch(/<link rel="icon" type="image\/svg\+xml" href="data:image\/svg\+xml;base64,/);
    expect(html).not.toMatch(/\{\{\w+\}\}/);
  });
});
