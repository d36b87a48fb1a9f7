/**
 * The WhatsApp channel's reading of Meta's wire formats, as pure functions: what each of Meta's
 * error answers means for a delivery, the send body of each relevo type, and how a webhook's
 * messages and statuses are read (docs/channels.md, "WhatsApp").
 */
import { describe, expect, it } from 'vitest';
import { judge, recipientOf, sendBody, wamidOf } from '../../src/channels/whatsapp/cloud-api.js';
import { bareMimeType, readWebhook } from '../../src/channels/whatsapp/webhook-payload.js';

const metaError = (code: number, message = 'm', details?: string) =>
  JSON.stringify({
    error: { message, type: 'OAuthException', code, error_data: { details }, fbtrace_id: 'A1' },
  });

describe("Meta's error answers", () => {
  it.each([
    [400, 131047, 'dead'],
    [400, 131026, 'dead'],
    [400, 100, 'dead'],
    [400, 131051, 'dead'],
    [401, 190, 'disable'],
    [400, 130429, 'retry'],
    [400, 131056, 'retry'],
    [400, 131048, 'retry'],
    [400, 4, 'retry'],
    [400, 80007, 'retry'],
    [500, 131000, 'retry'],
    [503, 2, 'retry'],
    [500, 100, 'retry'],
  ])('%i with code %i: %s', (status, code, action) => {
    expect(judge(status, metaError(code))?.action).toBe(action);
  });

  it('leaves an answer without Meta’s error object to the schedule', () => {
    expect(judge(502, '<html>Bad gateway</html>')).toBeUndefined();
    expect(judge(429, '')).toBeUndefined();
    expect(judge(400, JSON.stringify({ error: { message: 'no code' } }))).toBeUndefined();
  });

  it('words the reason with the code, the message and the details, each once', () => {
    expect(judge(400, metaError(131047, '(#131047) Re-engagement message', 'More than 24 hours'))).toEqual({
      action: 'dead',
      reason: 'WhatsApp error 131047: (#131047) Re-engagement message — More than 24 hours',
    });
    expect(judge(401, metaError(190, 'Session has expired.', 'Session has expired.'))?.reason).toBe(
      'WhatsApp error 190: Session has expired.',
    );
  });
});

describe('sends', () => {
  it('builds the Cloud API body of each type', () => {
    const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234' };
    const body = (type: string, content: Record<string, unknown>) =>
      JSON.parse(sendBody('16505551234', type, content));
    expect(body('text', { body: 'Hi' })).toEqual({ ...base, type: 'text', text: { body: 'Hi' } });
    expect(body('image', { url: 'https://x/a.jpg', mime_type: 'image/jpeg' })).toEqual({
      ...base,
      type: 'image',
      image: { link: 'https://x/a.jpg' },
    });
    expect(body('video', { url: 'https://x/a.mp4', mime_type: 'video/mp4', caption: 'c' })).toEqual({
      ...base,
      type: 'video',
      video: { link: 'https://x/a.mp4', caption: 'c' },
    });
    expect(body('audio', { url: 'https://x/a.ogg', mime_type: 'audio/ogg' })).toEqual({
      ...base,
      type: 'audio',
      audio: { link: 'https://x/a.ogg' },
    });
    expect(
      body('document', { url: 'https://x/a.pdf', mime_type: 'application/pdf', filename: 'a.pdf' }),
    ).toEqual({
      ...base,
      type: 'document',
      document: { link: 'https://x/a.pdf', filename: 'a.pdf' },
    });
  });

  it('sends to the wa_id of the referenceId, or to a referenceId that is a phone number', () => {
    expect(recipientOf('whatsapp:16505551234')).toBe('16505551234');
    expect(recipientOf('+5215512345678')).toBe('5215512345678');
    expect(recipientOf('customer-8812')).toBeUndefined();
    expect(recipientOf(null)).toBeUndefined();
  });

  it('reads the wamid of an accepted send', () => {
    expect(wamidOf('{"messaging_product":"whatsapp","messages":[{"id":"wamid.X"}]}')).toBe('wamid.X');
    expect(wamidOf('{"messages":[]}')).toBeUndefined();
    expect(wamidOf('ok')).toBeUndefined();
  });
});

describe('webhooks', () => {
  const value = (v: Record<string, unknown>) => ({
    object: 'whatsapp_business_account',
    entry: [
      { id: '1', changes: [{ field: 'messages', value: { metadata: { phone_number_id: '9' }, ...v } }] },
    ],
  });

  it('keeps what it understands and leaves out the rest, never throwing', () => {
    for (const junk of [null, 42, 'x', [], {}, { entry: 'x' }, { entry: [{ changes: [{ value: 3 }] }] }]) {
      expect(readWebhook(junk)).toEqual({ messages: [], statuses: [] });
    }
    const read = readWebhook(
      value({
        messages: [
          { from: '1', id: 'w1', type: 'text', text: { body: 'a\u0000b\ud800' } },
          { id: 'w2', type: 'text', text: { body: 'no sender' } },
          { from: '1', id: 'w3', type: 'image', image: {} },
          { from: '1', id: 'w4', type: 'text', text: { body: 'x'.repeat(5000) } },
        ],
        statuses: [
          { id: 'w9', status: 'deleted' },
          { id: 'w8', status: 'failed', errors: [{ code: 131026, title: 'Undeliverable' }] },
        ],
      }),
    );
    expect(read.messages.map((m) => [m.wamid, m.message])).toEqual([
      ['w1', { type: 'text', content: { body: 'a\uFFFDb\uFFFD' } }],
      [
        'w3',
        {
          type: 'text',
          content: {
            body: '(The user sent a WhatsApp message of type "image", which relevo does not support.)',
          },
        },
      ],
      ['w4', { type: 'text', content: { body: 'x'.repeat(4096) } }],
    ]);
    expect(read.statuses).toEqual([
      { wamid: 'w8', status: 'failed', phoneNumberId: '9', errorCode: 131026, errorTitle: 'Undeliverable' },
    ]);
  });

  it('drops MIME type parameters and falls back on a type that is not one', () => {
    expect(bareMimeType('audio/ogg; codecs=opus', 'x/y')).toBe('audio/ogg');
    expect(bareMimeType('not a type', 'image/jpeg')).toBe('image/jpeg');
    expect(bareMimeType(undefined, 'video/mp4')).toBe('video/mp4');
  });
});
