/**
 * The web chat page: one self-contained HTML document (inline CSS and script, no fonts, CDNs or
 * other requests), because relevo may run where nothing else is reachable. Its markup, stylesheet
 * and browser script live in web/webchat/ (see webchat-assets.ts); the script builds every
 * message with textContent and DOM properties, never innerHTML: message text comes from visitors
 * and the panel. The only server data in the markup is the bot's name, HTML-escaped.
 */
import { FAVICON_SVG } from '../../http/favicon.js';
import { webchatAssets } from './webchat-assets.js';

export interface PageParts {
  readonly botName: string;
  /** Per-response nonce that allows exactly this page's inline style and script (see the CSP). */
  readonly nonce: string;
  /**
   * The widget's variant (`?embed=1`), shown in an iframe on another site: the root element says so (data-embed="1"), and
   * the header leaves room for the host page's close button.
   */
  readonly embed?: boolean;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Inline code runs only with the response's nonce; images and media may come from any http(s)
 * URL (the panel sends links to wherever its files live); the script talks only to relevo.
 */
export function pageSecurityPolicy(nonce: string, frameAncestors: readonly string[] = ["'self'"]): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    'img-src http: https: data:',
    'media-src http: https:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    // Who may show the chat in a frame (RELEVO_WEBCHAT_FRAME_ANCESTORS): against clickjacking,
    // only relevo's own pages unless the operator lists the sites that embed it.
    `frame-ancestors ${frameAncestors.join(' ')}`,
  ].join('; ');
}

/** relevo's icon, inline like everything else on the page: no request, so no 404 either. */
const ICON_LINKS = `<link rel="icon" type="image/svg+xml" href="data:image/svg+xml;base64,${Buffer.from(FAVICON_SVG).toString('base64')}">`;

/** Whether an Accept header asks for a page rather than data (a browser's navigation does). */
export function wantsHtml(accept: string | undefined): boolean {
  return /\btext\/html\b|\bapplication\/xhtml\+xml\b/i.test(accept ?? '');
}

/** Fills a page's {{placeholders}} in one pass, so a value is never scanned for more of them. */
function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

export function chatPage(parts: PageParts): string {
  const assets = webchatAssets();
  const nonce = escapeHtml(parts.nonce);
  return fill(assets.chatHtml, {
    name: escapeHtml(parts.botName),
    embed: parts.embed === true ? '1' : '0',
    initial: escapeHtml([...parts.botName.trim()][0]?.toUpperCase() ?? '?'),
    icon: ICON_LINKS,
    style: `<style nonce="${nonce}">\n${assets.style}</style>`,
    script: `<script nonce="${nonce}">\n${assets.script}</script>`,
  });
}

export function notFoundPage(nonce: string): string {
  return fill(webchatAssets().notFoundHtml, { icon: ICON_LINKS, nonce: escapeHtml(nonce) });
}
