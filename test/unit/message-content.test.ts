import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/domain/messages/message-content.js';
import type { ValidationErrors } from '../../src/errors.js';

function check(raw: unknown): { parsed: unknown; errors: ValidationErrors } {
  const errors: ValidationErrors = {};
  return { parsed: parseMessage(raw, 'value', errors), errors };
}

describe('message content', () => {
  it('reports a content field named like an inherited member, instead of dropping it', () => {
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const { parsed, errors } = check({ type: 'text', content: { body: 'hi', [name]: 'x' } });
      expect(parsed).toBeUndefined();
      expect(errors).toEqual({ [`value.content.${name}`]: ['is not a field of a text message'] });
    }
  });

  it('refuses a type named like an inherited member with the list of types, and nothing else', () => {
    const { parsed, errors } = check({ type: 'constructor', content: { body: 'hi' } });
    expect(parsed).toBeUndefined();
    expect(errors).toEqual({ 'value.type': ['must be one of: text, image, video, audio, document'] });
  });

  it('accepts every field its type declares, and only those', () => {
    const { parsed, errors } = check({
      type: 'image',
      content: { url: 'https://example.com/a.png', mime_type: 'image/png', caption: 'A' },
    });
    expect(errors).toEqual({});
    expect(parsed).toEqual({
      type: 'image',
      content: { url: 'https://example.com/a.png', mime_type: 'image/png', caption: 'A' },
    });
  });
});
