/**
 * Whether a page's origin is among the sources of a frame-ancestors list, as a browser decides it
 * (CSP Level 3, "does url match source expression"), for the sources relevo accepts in
 * RELEVO_WEBCHAT_FRAME_ANCESTORS: 'self', 'none', a scheme (`https:`), an origin with an optional
 * `*.` and port. The widget asks it before showing its button: where the browser would refuse the
 * frame, a button that opens an empty panel would only confuse the visitor. The browser's check
 * of the frame stays the one that protects the chat.
 */
const ORIGIN = /^(https?):\/\/(\*\.)?([A-Za-z0-9.-]+)(?::(\d{1,5}|\*))?$/;
const DEFAULT_PORT: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** A scheme source matches its own scheme, and http: also https: (the upgrade CSP allows). */
function schemeMatches(source: string, protocol: string): boolean {
  return source === protocol || (source === 'http:' && protocol === 'https:');
}

export function frameAllowed(pageOrigin: string, sources: readonly string[], selfOrigin: string): boolean {
  let page: URL;
  try {
    page = new URL(pageOrigin);
  } catch {
    return false;
  }
  const port = page.port || DEFAULT_PORT[page.protocol] || '';
  return sources.some((source) => {
    if (source === '*') return page.protocol === 'http:' || page.protocol === 'https:';
    if (source === "'none'") return false;
    if (source === "'self'") return page.origin === new URL(selfOrigin).origin;
    if (/^[a-z][a-z0-9+.-]*:$/i.test(source)) return schemeMatches(source.toLowerCase(), page.protocol);
    const m = ORIGIN.exec(source);
    if (m === null) return false;
    const [, scheme, wildcard, host, sourcePort] = m;
    if (!schemeMatches(`${scheme}:`, page.protocol)) return false;
    const hostname = page.hostname.toLowerCase();
    const want = (host ?? '').toLowerCase();
    if (wildcard ? !hostname.endsWith(`.${want}`) : hostname !== want) return false;
    if (sourcePort === '*') return true;
    // No port: the scheme's default; http's default also covers an upgrade to https on 443.
    const expected = sourcePort ?? DEFAULT_PORT[`${scheme}:`];
    return port === expected || (sourcePort === undefined && scheme === 'http' && port === '443');
  });
}
