/**
 * The web chat page: one self-contained HTML document (inline CSS and script, no fonts, CDNs or
 * other requests), because relevo may run where nothing else is reachable. The script builds
 * every message with textContent and DOM properties, never innerHTML: message text comes from
 * visitors and the panel. The only server data in the markup is the bot's name, HTML-escaped.
 */

export interface PageParts {
  readonly botName: string;
  /** Per-response nonce that allows exactly this page's inline style and script (see the CSP). */
  readonly nonce: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Inline code runs only with the response's nonce; images and media may come from any http(s)
 * URL (the panel sends links to wherever its files live); the script talks only to relevo.
 */
export function pageSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    'img-src http: https: data:',
    'media-src http: https:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

const STYLE = `
:root{--bg:#eef1f5;--panel:#fff;--ink:#1c2430;--muted:#6b7685;--line:#dde2ea;--accent:#2563eb;
--op:#fff6e5;--op-line:#f3cf8b;color-scheme:light}
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif;
background:var(--bg);color:var(--ink)}
.chat{display:flex;flex-direction:column;height:100vh;height:100dvh;max-width:760px;margin:0 auto}
@media (min-width:800px){.chat{border-left:1px solid var(--line);border-right:1px solid var(--line)}}
.top{display:flex;align-items:center;gap:12px;padding:10px 16px;padding-top:max(10px,env(safe-area-inset-top));
background:var(--panel);border-bottom:1px solid var(--line)}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;background:var(--accent);color:#fff;
display:grid;place-items:center;font-weight:600;font-size:17px}
.top h1{font-size:16px;margin:0;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.status{margin:2px 0 0;font-size:12px;color:var(--muted);display:flex;align-items:center;gap:6px}
.dot{width:8px;height:8px;border-radius:50%;background:#f59e0b}
.status[data-state=online] .dot{background:#16a34a}
.status[data-state=offline] .dot{background:#dc2626}
.log{flex:1;overflow-y:auto;overscroll-behavior:contain;list-style:none;margin:0;padding:12px 12px 16px;
display:flex;flex-direction:column;gap:4px}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:82%;align-self:flex-start}
.msg.first{margin-top:8px}
.msg.user{align-self:flex-end;align-items:flex-end}
.label{font-size:12px;color:var(--muted);margin:0 6px 2px;font-weight:500}
.msg:not(.first) .label{display:none}
.bubble{background:var(--panel);border:1px solid var(--line);border-radius:16px 16px 16px 4px;padding:8px 12px;
white-space:pre-wrap;overflow-wrap:anywhere}
.msg.user .bubble{background:var(--accent);border-color:var(--accent);color:#fff;border-radius:16px 16px 4px 16px}
.msg.operator .bubble{background:var(--op);border-color:var(--op-line)}
.bubble.media{padding:4px;white-space:normal}
.bubble.media .caption{padding:4px 8px 2px;white-space:pre-wrap}
.bubble img,.bubble video{display:block;max-width:100%;max-height:300px;border-radius:12px;background:#dfe4ea}
.bubble audio{display:block;width:260px;max-width:100%}
.doc{display:flex;align-items:center;gap:10px;color:inherit;text-decoration:none;padding:4px 8px 4px 4px}
.doc .icon{flex:none;width:36px;height:42px;border-radius:6px;background:#e4e9f1;color:#33435a;display:grid;
place-items:center;font-size:10px;font-weight:700;letter-spacing:.3px}
.msg.user .doc .icon{background:rgba(255,255,255,.25);color:#fff}
.doc .name{text-decoration:underline;text-underline-offset:2px}
.time{font-size:11px;color:var(--muted);margin:2px 6px 0}
.toast{margin:0 12px 8px;padding:8px 12px;border-radius:10px;background:#fdecec;color:#8a1c1c;font-size:13px}
.composer{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;padding-bottom:max(10px,env(safe-area-inset-bottom));
background:var(--panel);border-top:1px solid var(--line)}
.composer textarea{flex:1;resize:none;font:inherit;font-size:16px;line-height:1.35;padding:9px 14px;max-height:140px;
border:1px solid var(--line);border-radius:20px;background:#f6f8fb;color:inherit;outline:none}
.composer textarea:focus{border-color:var(--accent);background:#fff}
.composer button{flex:none;width:42px;height:42px;border:0;border-radius:50%;background:var(--accent);color:#fff;
cursor:pointer;display:grid;place-items:center}
.composer button:disabled{opacity:.45;cursor:default}
.composer svg{width:20px;height:20px}
`;

// Plain browser JavaScript (ES2020), kept readable: this is what a visitor's browser runs.
const SCRIPT = `
'use strict';
(function () {
  var base = location.pathname.replace(/\\/+$/, '');
  var botName = document.body.getAttribute('data-bot-name') || 'Assistant';
  var storageKey = 'relevo.webchat:' + base;
  var log = document.getElementById('log');
  var form = document.getElementById('composer');
  var input = document.getElementById('input');
  var sendButton = document.getElementById('send');
  var statusEl = document.getElementById('status');
  var statusText = document.getElementById('status-text');
  var toastEl = document.getElementById('toast');
  var seen = new Map();
  var token = null;
  var memoryToken = null;
  var lastId = '';
  var source = null;
  var retryTimer = null;
  var retryDelay = 1000;
  var sending = Promise.resolve();

  // localStorage can be missing or throw (private modes, blocked storage): the chat still works
  // for this page's lifetime.
  function loadToken() {
    try { return localStorage.getItem(storageKey) || memoryToken; } catch (e) { return memoryToken; }
  }
  function saveToken(value) {
    memoryToken = value;
    try {
      if (value) localStorage.setItem(storageKey, value); else localStorage.removeItem(storageKey);
    } catch (e) { /* memory only */ }
  }

  function setStatus(state, text) {
    statusEl.setAttribute('data-state', state);
    statusText.textContent = text;
  }
  function toast(text) {
    toastEl.textContent = text;
    toastEl.hidden = !text;
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // Only http(s) links reach the page: no javascript:, data: or relative surprises.
  function safeUrl(value) {
    try {
      var u = new URL(String(value));
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (e) { return null; }
  }
  function link(url) {
    var a = el('a');
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }
  function timeLabel(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    var t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === new Date().toDateString()) return t;
    return d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + t;
  }
  function extensionOf(name, mime) {
    var m = /\\.([A-Za-z0-9]{1,4})$/.exec(name || '');
    if (m) return m[1].toUpperCase();
    var sub = String(mime || '').split('/')[1] || 'FILE';
    return sub.slice(0, 4).toUpperCase();
  }

  function bubbleFor(m) {
    var c = m.content || {};
    var b = el('div', 'bubble');
    var url = safeUrl(c.url);
    switch (m.type) {
      case 'text':
        b.textContent = String(c.body || '');
        break;
      case 'image':
      case 'video':
      case 'audio':
        b.classList.add('media');
        if (url && m.type === 'image') {
          var img = el('img');
          img.src = url;
          img.alt = c.caption || 'Image';
          img.loading = 'lazy';
          img.addEventListener('load', stickToBottom);
          var a = link(url);
          a.appendChild(img);
          b.appendChild(a);
        } else if (url) {
          var media = el(m.type);
          media.controls = true;
          media.preload = 'metadata';
          media.src = url;
          b.appendChild(media);
        }
        if (c.caption) b.appendChild(el('div', 'caption', c.caption));
        break;
      case 'document':
        if (url) {
          var d = link(url);
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

  var wasAtBottom = true;
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 48; }
  function scrollDown() { log.scrollTop = log.scrollHeight; wasAtBottom = true; }
  function stickToBottom() { if (wasAtBottom) scrollDown(); }
  log.addEventListener('scroll', function () { wasAtBottom = atBottom(); });

  // A message starts a group (and shows its label) when the one before it is from someone else.
  function regroup(li) {
    if (!li) return;
    var prev = li.previousElementSibling;
    var first = !prev || prev.getAttribute('data-sender') !== li.getAttribute('data-sender');
    li.classList.toggle('first', first);
  }

  function render(m) {
    if (!m || typeof m.id !== 'string' || seen.has(m.id)) return;
    var follow = atBottom() || m.sender === 'user';
    var sender = m.sender === 'user' || m.sender === 'operator' ? m.sender : 'bot';
    var li = el('li', 'msg ' + sender);
    li.setAttribute('data-id', m.id);
    li.setAttribute('data-sender', sender);
    if (sender !== 'user') li.appendChild(el('div', 'label', sender === 'operator' ? 'Agent' : botName));
    li.appendChild(bubbleFor(m));
    var time = el('time', 'time', timeLabel(m.createdAt));
    time.dateTime = m.createdAt;
    li.appendChild(time);
    // Ids sort by creation: insert in order even if a message arrives late.
    var before = log.lastElementChild;
    while (before && before.getAttribute('data-id') > m.id) before = before.previousElementSibling;
    if (before) before.after(li); else log.prepend(li);
    seen.set(m.id, li);
    if (m.id > lastId) lastId = m.id;
    regroup(li);
    regroup(li.nextElementSibling);
    if (follow) scrollDown();
  }

  function api(method, path, body) {
    var headers = { accept: 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(base + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        if (res.ok) return data;
        var err = new Error((data && data.error && data.error.description) || 'HTTP ' + res.status);
        err.status = res.status;
        throw err;
      });
    });
  }

  function newSession() {
    var name = new URLSearchParams(location.search).get('name');
    return api('POST', '/sessions', name ? { name: name.trim().slice(0, 200) } : {}).then(function (s) {
      token = s.sessionToken;
      saveToken(token);
    });
  }

  function loadHistory() {
    var q = new URLSearchParams({ limit: '200' });
    if (lastId) q.set('after', lastId);
    return api('GET', '/messages?' + q).then(function (page) {
      page.messages.forEach(render);
      if (page.nextCursor) return loadHistory();
    });
  }

  function closeStream() {
    if (source) source.close();
    source = null;
  }

  // EventSource cannot send an Authorization header, so the stream takes the token in its URL.
  // It reconnects by itself after a network error, sending Last-Event-ID so nothing is missed.
  function openStream() {
    var q = new URLSearchParams({ token: token });
    if (lastId) q.set('after', lastId);
    var es = new EventSource(base + '/stream?' + q);
    source = es;
    es.onopen = function () {
      retryDelay = 1000;
      setStatus('online', 'Online');
    };
    es.onmessage = function (ev) {
      try { render(JSON.parse(ev.data)); } catch (e) { /* ignore a malformed frame */ }
    };
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        // Refused outright (session gone, server shutting down): start over with backoff.
        closeStream();
        retryLater();
      } else {
        setStatus('connecting', 'Reconnecting…');
      }
    };
  }

  function retryLater() {
    setStatus('offline', 'Offline, retrying…');
    clearTimeout(retryTimer);
    retryTimer = setTimeout(start, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function resetSession() {
    saveToken(null);
    token = null;
    lastId = '';
    seen.clear();
    log.replaceChildren();
  }

  function start() {
    clearTimeout(retryTimer);
    closeStream();
    setStatus('connecting', 'Connecting…');
    token = loadToken();
    var ready = token ? Promise.resolve() : newSession();
    ready
      .then(loadHistory)
      .catch(function (err) {
        // The stored session no longer exists (say, a new database): begin a new one.
        if (err && err.status === 401) {
          resetSession();
          return newSession().then(loadHistory);
        }
        throw err;
      })
      .then(function () {
        sendButton.disabled = false;
        openStream();
        scrollDown();
      })
      .catch(retryLater);
  }

  function send(text) {
    return api('POST', '/messages', { type: 'text', content: { body: text } }).then(
      function (r) {
        toast('');
        render({ id: r.messageId, sender: 'user', type: 'text', content: { body: text },
          createdAt: new Date().toISOString() });
      },
      function (err) {
        toast('Your message was not sent: ' + (err && err.message ? err.message : 'network error'));
        if (!input.value) { input.value = text; autosize(); }
      },
    );
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 140) + 'px';
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || !token) return;
    input.value = '';
    autosize();
    // One after another, so messages keep the order they were typed in.
    sending = sending.then(function () { return send(text); });
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', autosize);
  window.addEventListener('online', function () { if (!source) start(); });

  start();
})();
`;

const SEND_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"/></svg>';

export function chatPage(parts: PageParts): string {
  const name = escapeHtml(parts.botName);
  const initial = escapeHtml([...parts.botName.trim()][0]?.toUpperCase() ?? '?');
  const nonce = escapeHtml(parts.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="referrer" content="no-referrer">
<title>${name}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body data-bot-name="${name}">
<main class="chat">
<header class="top">
<div class="avatar" aria-hidden="true">${initial}</div>
<div>
<h1>${name}</h1>
<p class="status" id="status" data-state="connecting" role="status"><span class="dot"></span><span id="status-text">Connecting…</span></p>
</div>
</header>
<ol class="log" id="log" aria-live="polite" aria-label="Messages"></ol>
<p class="toast" id="toast" role="alert" hidden></p>
<form class="composer" id="composer" autocomplete="off">
<textarea id="input" rows="1" maxlength="4096" placeholder="Type a message" aria-label="Message" enterkeyhint="send"></textarea>
<button id="send" type="submit" aria-label="Send" disabled>${SEND_ICON}</button>
</form>
</main>
<noscript><p>This chat needs JavaScript.</p></noscript>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

export function notFoundPage(nonce: string): string {
  const n = escapeHtml(nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat not found</title>
<style nonce="${n}">
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#eef1f5;color:#1c2430;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif}
main{max-width:420px;padding:24px;text-align:center}
h1{font-size:20px;margin:0 0 8px}
p{margin:0;color:#6b7685}
</style>
</head>
<body>
<main>
<h1>Chat not found</h1>
<p>This chat does not exist or is not available on the web. Check the link you were given.</p>
</main>
</body>
</html>
`;
}
