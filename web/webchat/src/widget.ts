/**
 * The embeddable chat launcher (the entry of the `widget` build, web/webchat/vite.config.js),
 * served as GET /webchat/{botId}/widget.js. The server wraps the bundle in a function whose one
 * parameter, RELEVO_WIDGET, is the bot's id and name (src/channels/webchat/webchat-widget.ts).
 *
 * One `<script src="…/webchat/{botId}/widget.js" async>` on any site adds a round button in the
 * page's corner that opens the bot's chat: the chat page itself (`?embed=1`) in an iframe, so the
 * host page's scripts cannot read the conversation, and the chat keeps relevo's own policy.
 *
 * The host page may have a strict Content-Security-Policy that allows only relevo's origin for
 * scripts and frames. So this script adds no <style> element, no style attribute in markup and no
 * inline handler: every style is set through the CSSOM (element.style), which a policy does not
 * govern, and the elements live in a shadow root, out of reach of the host page's stylesheets.
 */
import { frameAllowed } from './sites.js';

declare const RELEVO_WIDGET: {
  readonly botId: string;
  readonly name: string;
  /** The sites that may frame the chat (RELEVO_WEBCHAT_FRAME_ANCESTORS), or null for any. */
  readonly frameAncestors: readonly string[] | null;
};

/** Above the host page's own overlays; the highest z-index browsers honour is 2147483647. */
const ON_TOP = '2147483000';
const ACCENT = '#2563eb';
const INK = '#1c2430';
/** At most this wide, the panel takes the whole screen (a phone); wider, a corner panel. */
const SMALL = '(max-width: 520px)';
const SVG = 'http://www.w3.org/2000/svg';
/** 24×24 icons: a speech bubble, and a cross. */
const CHAT_ICON = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z';
const CLOSE_ICON =
  'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z';

type Styles = Readonly<Record<string, string>>;

function css(element: HTMLElement | SVGElement, styles: Styles): void {
  for (const [name, value] of Object.entries(styles)) element.style.setProperty(name, value);
}

function icon(path: string, size: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  css(svg, { width: size, height: size, display: 'block' });
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('fill', 'currentColor');
  p.setAttribute('d', path);
  svg.appendChild(p);
  return svg;
}

function button(label: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.setAttribute('aria-label', label);
  b.title = label;
  css(b, {
    display: 'grid',
    'place-items': 'center',
    margin: '0',
    padding: '0',
    border: '0',
    cursor: 'pointer',
    'border-radius': '50%',
    'outline-offset': '2px',
  });
  return b;
}

(() => {
  const config = RELEVO_WIDGET;
  const script = document.currentScript;
  if (!(script instanceof HTMLScriptElement) || !script.src) {
    console.warn(
      'relevo web chat: load widget.js with a <script src="…"> tag; the chat button is not shown.',
    );
    return;
  }
  // The chat page is next to this script, wherever relevo is (also behind a path prefix).
  const chatUrl = new URL(script.src.replace(/\/widget\.js(?:[?#].*)?$/, ''));
  chatUrl.search = '';
  chatUrl.hash = '';
  chatUrl.searchParams.set('embed', '1');
  // <script data-name="Ana" …> names the visitor, like ?name= on the chat's link.
  const visitor = script.dataset.name?.trim();
  if (visitor) chatUrl.searchParams.set('name', visitor);

  if (
    config.frameAncestors !== null &&
    !frameAllowed(location.origin, config.frameAncestors, chatUrl.origin)
  ) {
    console.warn(
      `relevo web chat: this site (${location.origin}) is not among those that may show the chat (RELEVO_WEBCHAT_FRAME_ANCESTORS); the chat button is not shown.`,
    );
    return;
  }

  // The same script twice on a page: one button.
  if (document.querySelector(`[data-relevo-webchat="${CSS.escape(config.botId)}"]`)) return;

  const label = `Chat with ${config.name}`;
  const host = document.createElement('div');
  host.setAttribute('data-relevo-webchat', config.botId);
  const root = host.attachShadow({ mode: 'open' });

  const launcher = button(label);
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-controls', 'relevo-chat-panel');
  css(launcher, {
    position: 'fixed',
    right: '20px',
    // Above a phone's home indicator, when the host page lets the viewport cover it.
    bottom: 'calc(20px + env(safe-area-inset-bottom, 0px))',
    width: '56px',
    height: '56px',
    background: ACCENT,
    color: '#fff',
    'box-shadow': '0 4px 14px rgba(15, 23, 42, 0.3)',
    'z-index': ON_TOP,
  });
  const chatIcon = icon(CHAT_ICON, '26px');
  const closeIcon = icon(CLOSE_ICON, '26px');
  launcher.append(chatIcon, closeIcon);

  const panel = document.createElement('div');
  panel.id = 'relevo-chat-panel';
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', label);
  css(panel, {
    position: 'fixed',
    overflow: 'hidden',
    background: '#fff',
    'box-shadow': '0 12px 40px rgba(15, 23, 42, 0.28)',
    'z-index': ON_TOP,
  });

  // Over the chat's header, whose right end the embedded page leaves free (64 px).
  const close = button('Close chat');
  css(close, {
    position: 'absolute',
    top: 'max(12px, env(safe-area-inset-top))',
    right: '12px',
    width: '40px',
    height: '40px',
    background: '#eef1f5',
    color: INK,
    'z-index': '1',
  });
  close.appendChild(icon(CLOSE_ICON, '22px'));
  panel.appendChild(close);

  let frame: HTMLIFrameElement | null = null;
  let open = false;
  const small = window.matchMedia(SMALL);

  function layout(): void {
    css(panel, { display: open ? 'block' : 'none' });
    css(chatIcon, { display: open ? 'none' : 'block' });
    css(closeIcon, { display: open ? 'block' : 'none' });
    if (small.matches) {
      // A phone: the whole screen; the panel's own close button is the way back.
      css(panel, { inset: '0', width: 'auto', height: 'auto', 'border-radius': '0' });
      css(launcher, { display: open ? 'none' : 'grid' });
    } else {
      css(panel, {
        inset: 'auto 20px 92px auto',
        width: '380px',
        height: 'min(640px, calc(100vh - 112px))',
        'border-radius': '14px',
      });
      css(launcher, { display: 'grid' });
    }
  }

  function show(): void {
    // The chat (its session, its greeting) starts only when the visitor opens it, not on every
    // page view of the host site.
    if (frame === null) {
      frame = document.createElement('iframe');
      frame.title = label;
      frame.src = chatUrl.href;
      css(frame, { display: 'block', width: '100%', height: '100%', border: '0' });
      panel.appendChild(frame);
    }
    open = true;
    launcher.setAttribute('aria-expanded', 'true');
    layout();
    close.focus();
  }

  function hide(): void {
    open = false;
    launcher.setAttribute('aria-expanded', 'false');
    layout();
    launcher.focus();
  }

  launcher.addEventListener('click', () => (open ? hide() : show()));
  close.addEventListener('click', hide);
  // Escape closes it: on the host page directly, and inside the chat's frame (whose keys never
  // reach this page) through the frame's message, taken only from that frame and relevo's origin.
  document.addEventListener('keydown', (e) => {
    if (open && e.key === 'Escape') hide();
  });
  window.addEventListener('message', (e) => {
    const data: unknown = e.data;
    if (
      open &&
      frame !== null &&
      e.source === frame.contentWindow &&
      e.origin === chatUrl.origin &&
      typeof data === 'object' &&
      data !== null &&
      (data as { relevoWebchat?: unknown }).relevoWebchat === 'close'
    ) {
      hide();
    }
  });
  small.addEventListener('change', layout);

  root.append(launcher, panel);
  layout();
  const mount = () => document.body.appendChild(host);
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });
})();
