/**
 * Building blocks of the message list. Every text is set with textContent and DOM properties,
 * never innerHTML: message text comes from visitors and the panel.
 */
import type { ChatMessage } from './types.js';

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: unknown,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// Only http(s) links reach the page: no javascript:, data: or relative surprises.
export function safeUrl(value: unknown): string | null {
  try {
    const u = new URL(String(value));
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

function link(url: string): HTMLAnchorElement {
  const a = el('a');
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  return a;
}

export function timeLabel(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return t;
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${t}`;
}

function extensionOf(name: string | undefined, mime: string | undefined): string {
  const m = /\.([A-Za-z0-9]{1,4})$/.exec(name || '');
  if (m) return m[1]!.toUpperCase();
  const sub = String(mime || '').split('/')[1] || 'FILE';
  return sub.slice(0, 4).toUpperCase();
}

/** A message's bubble; `onImageLoad` runs when a picture has loaded (and changed the height). */
export function bubbleFor(m: ChatMessage, onImageLoad: () => void): HTMLDivElement {
  const c = m.content || {};
  const b = el('div', 'bubble');
  const url = safeUrl(c.url);
  switch (m.type) {
    case 'text':
      b.textContent = String(c.body || '');
      break;
    case 'image':
    case 'video':
    case 'audio':
      b.classList.add('media');
      if (url && m.type === 'image') {
        const img = el('img');
        img.src = url;
        img.alt = c.caption || 'Image';
        img.loading = 'lazy';
        img.addEventListener('load', onImageLoad);
        const a = link(url);
        a.appendChild(img);
        b.appendChild(a);
      } else if (url) {
        const media = el(m.type === 'video' ? 'video' : 'audio');
        media.controls = true;
        media.preload = 'metadata';
        media.src = url;
        b.appendChild(media);
      }
      if (c.caption) b.appendChild(el('div', 'caption', c.caption));
      break;
    case 'document':
      if (url) {
        const d = link(url);
        d.className = 'doc';
        d.download = c.filename || '';
        d.appendChild(el('span', 'icon', extensionOf(c.filename, c.mime_type)));
        d.appendChild(el('span', 'name', c.filename || 'Document'));
        b.appendChild(d);
      }
      break;
    default:
      b.textContent = 'Unsupported message';
  }
  return b;
}
