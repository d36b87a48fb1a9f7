/**
 * The widget's check of the host page against RELEVO_WEBCHAT_FRAME_ANCESTORS
 * (web/webchat/src/sites.ts): the same answers a browser gives for frame-ancestors, so the button
 * shows exactly where the chat's frame will load.
 */
import { describe, expect, it } from 'vitest';
import { frameAllowed } from '../../web/webchat/src/sites.js';

const RELEVO = 'https://chat.example.net';
const allowed = (page: string, ...sources: string[]) => frameAllowed(page, sources, RELEVO);

describe('frameAllowed', () => {
  it('* is any http(s) site', () => {
    expect(allowed('https://shop.example.com', '*')).toBe(true);
    expect(allowed('http://localhost:8080', '*')).toBe(true);
    expect(allowed('file://', '*')).toBe(false);
  });

  it("'self' is relevo's origin only; 'none' is nobody", () => {
    expect(allowed(RELEVO, "'self'")).toBe(true);
    expect(allowed('https://chat.example.net:8443', "'self'")).toBe(false);
    expect(allowed('https://shop.example.com', "'self'")).toBe(false);
    expect(allowed(RELEVO, "'none'")).toBe(false);
  });

  it('an origin matches its host and its port (the default one when none is written)', () => {
    expect(allowed('https://shop.example.com', 'https://shop.example.com')).toBe(true);
    expect(allowed('https://shop.example.com:443', 'https://shop.example.com')).toBe(true);
    expect(allowed('https://shop.example.com:8443', 'https://shop.example.com')).toBe(false);
    expect(allowed('https://shop.example.com:8443', 'https://shop.example.com:8443')).toBe(true);
    expect(allowed('https://shop.example.com:8443', 'https://shop.example.com:*')).toBe(true);
    expect(allowed('https://www.example.com', 'https://shop.example.com')).toBe(false);
    expect(allowed('http://shop.example.com', 'https://shop.example.com')).toBe(false);
    // http:// also admits the same host over https (CSP's upgrade rule).
    expect(allowed('https://shop.example.com', 'http://shop.example.com')).toBe(true);
  });

  it('*. matches subdomains, not the domain itself', () => {
    expect(allowed('https://a.example.com', 'https://*.example.com')).toBe(true);
    expect(allowed('https://a.b.example.com', 'https://*.example.com')).toBe(true);
    expect(allowed('https://example.com', 'https://*.example.com')).toBe(false);
    expect(allowed('https://badexample.com', 'https://*.example.com')).toBe(false);
  });

  it('a scheme matches every site of it; any source of a list is enough', () => {
    expect(allowed('https://anything.example', 'https:')).toBe(true);
    expect(allowed('http://anything.example', 'https:')).toBe(false);
    expect(allowed('https://b.example', 'https://a.example', 'https://b.example')).toBe(true);
    expect(allowed('https://c.example', "'self'", 'https://a.example')).toBe(false);
  });
});
