import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/sse.js';
import { backoffMs, retryAfterMs } from '../../src/transport.js';

describe('SseParser', () => {
  it('parses messages split anywhere, with CRLF, comments, multi-line data and retry', () => {
    const text =
      'retry: 3000\r\n\r\n: ping\r\n\r\nid: evt_1\r\nevent: message\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: evt_2\ndata: x\n\n';
    for (let size = 1; size <= text.length; size++) {
      const parser = new SseParser();
      const out = [];
      for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
      expect(out).toEqual([
        { id: 'evt_1', event: 'message', data: '{"a":\n1}' },
        { id: 'evt_2', event: 'message', data: 'x' },
      ]);
      expect(parser.retryMs).toBe(3000);
    }
  });
});

describe('retry timing', () => {
  it('reads Retry-After in seconds and as a date, capped at a minute', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0')).toBe(0);
    expect(retryAfterMs('3600')).toBe(60_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 5_000)).toBe(5_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('backs off from 0.5 s, doubling, never past 8 s', () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffMs(1)).toBeGreaterThanOrEqual(250);
      expect(backoffMs(1)).toBeLessThanOrEqual(500);
      expect(backoffMs(3)).toBeLessThanOrEqual(2000);
      expect(backoffMs(10)).toBeLessThanOrEqual(8000);
      expect(backoffMs(10)).toBeGreaterThanOrEqual(4000);
    }
  });
});
