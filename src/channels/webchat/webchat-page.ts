/**
 * The web chat page: one self-contained HTML document (inline CSS and script, no fonts, CDNs or
 * other requests), because relevo may run where nothing else is reachable. The script builds
 * every message with textContent and DOM properties, never innerHTML: message text comes from
 * visitors and the panel. The only server data in the markup is the bot's name, HTML-escaped.
 */
import { FAVICON_SVG } from '../../http/favicon.js';

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

const STYLE = `
:root{--bg:#eef1f5;--panel:#fff;--ink:#1c2430;--muted:#6b7685;--line:#dde2ea;--accent:#2563eb;
--op:#fff6e5;--op-line:#f3cf8b;--person:#b45309;--bad:#b91c1c;color-scheme:light}
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif;
background:var(--bg);color:var(--ink)}
.chat{display:flex;flex-direction:column;height:100vh;height:100dvh;max-width:760px;margin:0 auto;background:var(--bg)}
@media (min-width:800px){.chat{border-left:1px solid var(--line);border-right:1px solid var(--line)}}
.top{flex:none;display:flex;align-items:center;gap:12px;padding:10px 16px;padding-top:max(10px,env(safe-area-inset-top));
background:var(--panel);border-bottom:1px solid var(--line)}
.who{min-width:0}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;background:var(--accent);color:#fff;
display:grid;place-items:center;font-weight:600;font-size:17px}
.top[data-hands=person] .avatar{background:var(--person)}
.top h1{font-size:16px;margin:0;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.status{margin:2px 0 0;font-size:12px;color:var(--muted);display:flex;align-items:center;gap:6px;white-space:nowrap}
.dot{flex:none;width:8px;height:8px;border-radius:50%;background:#f59e0b}
.status[data-state=online] .dot{background:#16a34a}
.status[data-state=offline] .dot{background:#dc2626}
.role::before{content:"·";margin-right:6px}
.top[data-hands=person] .role{color:var(--person);font-weight:600}
.notice{flex:none;display:flex;align-items:center;gap:12px;margin:0;padding:10px 16px;background:#fdecec;
color:#7f1d1d;font-size:14px;border-bottom:1px solid #f5c2c2}
.notice[hidden]{display:none}
.notice span{flex:1}
.notice button{flex:none;font:inherit;font-weight:600;border:1px solid #e7a3a3;background:#fff;color:#7f1d1d;
border-radius:8px;padding:6px 12px;cursor:pointer}
.pane{flex:1;min-height:0;position:relative;display:flex;flex-direction:column}
.log{flex:1;min-height:0;overflow-y:auto;overscroll-behavior:contain;list-style:none;margin:0;padding:12px 12px 16px;
display:flex;flex-direction:column;gap:4px}
.placeholder{position:absolute;inset:0;display:grid;place-items:center;margin:0;padding:24px;text-align:center;
color:var(--muted);pointer-events:none}
.placeholder[hidden]{display:none}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:82%;align-self:flex-start}
.msg.first{margin-top:8px}
.msg.user{align-self:flex-end;align-items:flex-end}
.label{font-size:12px;color:var(--muted);margin:0 6px 2px;font-weight:500}
.msg.operator .label{color:var(--person)}
.msg:not(.first) .label{display:none}
.bubble{background:var(--panel);border:1px solid var(--line);border-radius:16px 16px 16px 4px;padding:8px 12px;
white-space:pre-wrap;overflow-wrap:anywhere}
.msg.user .bubble{background:var(--accent);border-color:var(--accent);color:#fff;border-radius:16px 16px 4px 16px}
.msg.operator .bubble{background:var(--op);border-color:var(--op-line)}
.msg.pending .bubble{opacity:.7}
.msg.pending[data-state=failed] .bubble{opacity:1;background:#fff;color:var(--ink);border-color:var(--bad)}
.state{font:inherit;font-size:11px;color:var(--muted);margin:2px 6px 0;padding:0;border:0;background:none}
.msg[data-state=failed] .state{color:var(--bad);font-weight:600;cursor:pointer;text-decoration:underline;
text-underline-offset:2px}
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
.system{align-self:center;margin:10px 0 6px;padding:4px 12px;border-radius:999px;background:#e2e7ef;color:#3b4656;
font-size:12px;font-weight:500;text-align:center}
.typing .bubble{display:flex;gap:4px;align-items:center;padding:12px 14px}
.typing .bubble span{width:7px;height:7px;border-radius:50%;background:#9aa4b2;animation:blink 1.2s infinite}
.typing .bubble span:nth-child(2){animation-delay:.2s}
.typing .bubble span:nth-child(3){animation-delay:.4s}
@keyframes blink{0%,60%,100%{opacity:.3}30%{opacity:1}}
@media (prefers-reduced-motion:reduce){.typing .bubble span{animation:none;opacity:.6}}
.composer{flex:none;display:flex;align-items:flex-end;gap:8px;padding:10px 12px;padding-bottom:max(10px,env(safe-area-inset-bottom));
background:var(--panel);border-top:1px solid var(--line)}
.composer textarea{flex:1;min-width:0;resize:none;font:inherit;font-size:16px;line-height:1.35;padding:9px 14px;
max-height:128px;overflow-y:auto;border:1px solid var(--line);border-radius:20px;background:#f6f8fb;color:inherit;outline:none}
@media (max-height:560px){.composer textarea{max-height:90px}}
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
  var outboxKey = 'relevo.webchat.outbox:' + base;
  function byId(id) { return document.getElementById(id); }
  var log = byId('log');
  var form = byId('composer');
  var input = byId('input');
  var header = byId('top');
  var title = byId('title');
  var avatar = byId('avatar');
  var role = byId('role');
  var statusEl = byId('status');
  var statusText = byId('status-text');
  var notice = byId('notice');
  var noticeText = byId('notice-text');
  var placeholder = byId('placeholder');
  var seen = new Map();
  var memory = {};
  var token = null;
  // The last message the stream delivered: where a new stream resumes, and where a handoff line goes.
  var lastId = '';
  var lastBotId = '';
  var source = null;
  var online = false;
  var retryTimer = null;
  var retryDelay = 1000;
  var hands = { to: 'bot', name: botName };
  // Messages typed but not yet acknowledged, in the order typed: { clientId, text, state, hold, li }.
  var outbox = [];
  var inFlight = null;
  var wasOnline = false;
  var flushTimer = null;
  var flushDelay = 2000;
  var typing = null;
  var typingTimer = null;

  // localStorage can be missing or throw (private modes, blocked storage): the chat still works
  // for this page's lifetime.
  function load(key) {
    try { var v = localStorage.getItem(key); return v === null ? memory[key] || null : v; } catch (e) { return memory[key] || null; }
  }
  function save(key, value) {
    memory[key] = value;
    try {
      if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
    } catch (e) { /* memory only */ }
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setStatus(state, text) {
    statusEl.setAttribute('data-state', state);
    statusText.textContent = text;
  }
  function showNotice(text) {
    noticeText.textContent = text;
    notice.hidden = !text;
  }
  function updatePlaceholder(text) {
    if (text) placeholder.textContent = text;
    placeholder.hidden = log.querySelector('.msg, .system') !== null;
  }

  function showHands() {
    header.setAttribute('data-hands', hands.to);
    title.textContent = hands.name;
    avatar.textContent = (Array.from(hands.name.trim())[0] || '?').toUpperCase();
    role.textContent = hands.to === 'person' ? 'Human support' : 'Automated assistant';
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
  // The list shrinks when the draft grows to several lines (or the keyboard opens): the last
  // message stays in view above the composer instead of sliding under it.
  if (typeof ResizeObserver === 'function') new ResizeObserver(stickToBottom).observe(log);

  // A message starts a group (and shows its label) when the one before it is from someone else.
  function regroup(li) {
    if (!li) return;
    var prev = li.previousElementSibling;
    var first = !prev || prev.getAttribute('data-sender') !== li.getAttribute('data-sender') ||
      prev.getAttribute('data-label') !== li.getAttribute('data-label');
    li.classList.toggle('first', first);
  }

  // Stored messages and handoff lines sort by key (message ids sort by creation); messages not
  // yet stored and the typing dots have no key and stay at the bottom.
  function insertOrdered(li, key) {
    li.setAttribute('data-key', key);
    var before = log.lastElementChild;
    while (before && (!before.hasAttribute('data-key') || before.getAttribute('data-key') > key)) {
      before = before.previousElementSibling;
    }
    if (before) before.after(li); else log.prepend(li);
    regroup(li);
    regroup(li.nextElementSibling);
  }

  function render(m) {
    if (!m || typeof m.id !== 'string' || seen.has(m.id)) return;
    if (m.clientMessageId) settle(m.clientMessageId);
    var follow = atBottom() || m.sender === 'user';
    var sender = m.sender === 'user' || m.sender === 'operator' ? m.sender : 'bot';
    var li = el('li', 'msg ' + sender);
    li.setAttribute('data-id', m.id);
    li.setAttribute('data-sender', sender);
    if (sender !== 'user') {
      var label = sender === 'operator' ? (hands.to === 'person' ? hands.name : 'Support team') : botName;
      li.setAttribute('data-label', label);
      li.appendChild(el('div', 'label', label));
    }
    li.appendChild(bubbleFor(m));
    var time = el('time', 'time', timeLabel(m.createdAt));
    time.dateTime = m.createdAt;
    li.appendChild(time);
    insertOrdered(li, m.id);
    seen.set(m.id, li);
    if (sender === 'bot' && m.id > lastBotId) lastBotId = m.id;
    if (sender !== 'user') hideTyping();
    updatePlaceholder();
    if (follow) scrollDown();
  }

  function systemLine(text) {
    var li = el('li', 'system', text);
    li.setAttribute('data-sender', 'system');
    li.setAttribute('role', 'note');
    // Right after the last message the stream delivered: where the room changed hands.
    insertOrdered(li, lastId + '.');
    updatePlaceholder();
    stickToBottom();
  }

  function onHandoff(view) {
    if (!view || (view.to !== 'person' && view.to !== 'bot')) return;
    var name = typeof view.name === 'string' && view.name ? view.name : view.to === 'bot' ? botName : 'Support team';
    var changed = view.to !== hands.to;
    hands = { to: view.to, name: name };
    showHands();
    if (view.to === 'person') hideTyping();
    if (changed) systemLine(view.to === 'person' ? 'You\\u2019re now talking to a person' : 'The conversation with support has ended');
  }

  // "…" only while the bot owns the room and the visitor's message is on its way: the bot
  // answers in the same request, so its reply (if any) is there by the time the answer is.
  // People at the panel send no typing signal, and none is made up for them.
  function showTyping() {
    if (hands.to !== 'bot' || typing) return;
    typing = el('li', 'msg bot typing first');
    typing.setAttribute('aria-label', botName + ' is typing');
    typing.appendChild(el('div', 'label', botName));
    var b = el('div', 'bubble');
    b.appendChild(el('span'));
    b.appendChild(el('span'));
    b.appendChild(el('span'));
    typing.appendChild(b);
    log.appendChild(typing);
    stickToBottom();
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    if (typing) typing.remove();
    typing = null;
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

  // ---- Sending: every message gets its own id, kept until the server has it -----------------

  function newClientId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }
  function saveOutbox() {
    save(outboxKey, outbox.length ? JSON.stringify(outbox.map(function (i) { return { clientId: i.clientId, text: i.text }; })) : null);
  }

  function paint(item) {
    if (!item.li) {
      item.li = el('li', 'msg user pending');
      item.li.setAttribute('data-sender', 'user');
      item.li.appendChild(el('div', 'bubble', item.text));
      var state = el('button', 'state');
      state.type = 'button';
      state.addEventListener('click', function () {
        if (item.state !== 'failed') return;
        item.hold = false;
        item.state = 'sending';
        paint(item);
        flush(true);
      });
      item.li.appendChild(state);
      // After the stored messages and the other unsent ones, before the typing dots.
      if (typing) log.insertBefore(item.li, typing); else log.appendChild(item.li);
      regroup(item.li);
      updatePlaceholder();
      scrollDown();
    }
    item.li.setAttribute('data-state', item.state);
    var button = item.li.querySelector('.state');
    button.disabled = item.state !== 'failed';
    button.textContent = item.state === 'failed'
      ? (item.reason ? 'Not sent: ' + item.reason + ' Tap to retry' : 'Not sent. Tap to retry')
      : 'Sending\\u2026';
  }

  // The server has the message: its pending copy goes, the stored one shows (once).
  function settle(clientId) {
    var i = outbox.findIndex(function (x) { return x.clientId === clientId; });
    if (i < 0) return;
    var item = outbox.splice(i, 1)[0];
    if (item.li) {
      var next = item.li.nextElementSibling;
      item.li.remove();
      regroup(next);
    }
    saveOutbox();
  }

  function queue(text) {
    // Typed before the chat first connected: on its way. Typed after the connection dropped: not
    // sent (yet), which the visitor should know.
    var item = { clientId: newClientId(), text: text, state: online || !wasOnline ? 'sending' : 'failed', hold: false, li: null };
    outbox.push(item);
    saveOutbox();
    paint(item);
    flush();
  }

  function markWaiting() {
    outbox.forEach(function (i) {
      if (i !== inFlight && i.state !== 'failed') { i.state = 'failed'; paint(i); }
    });
  }

  // One at a time, in the order typed. "anyway": the visitor tapped retry, so try even when the
  // stream has not reconnected yet.
  function flush(anyway) {
    clearTimeout(flushTimer);
    if (inFlight || !token || (!online && !anyway)) return;
    var item = outbox.find(function (i) { return !i.hold; });
    if (!item) return;
    inFlight = item;
    item.state = 'sending';
    item.reason = '';
    paint(item);
    showTyping();
    var sentAt = lastBotId;
    api('POST', '/messages', { type: 'text', content: { body: item.text }, clientMessageId: item.clientId }).then(
      function (r) {
        inFlight = null;
        flushDelay = 2000;
        if (!seen.has(r.messageId)) {
          render({ id: r.messageId, sender: 'user', type: 'text', content: { body: item.text },
            createdAt: new Date().toISOString(), clientMessageId: item.clientId });
        }
        settle(item.clientId);
        // The bot's reply is committed before this answer: a moment for the stream to bring it.
        if (typing && lastBotId === sentAt) typingTimer = setTimeout(hideTyping, 1500);
        flush();
      },
      function (err) {
        inFlight = null;
        hideTyping();
        var status = err && err.status;
        if (status === 401) {
          // The session is gone (a new database): start over; the message goes to the new one.
          item.state = 'failed';
          paint(item);
          start();
          return;
        }
        if (status && status < 500 && status !== 408 && status !== 429) {
          // Refused as it is (say, too long): sending it again would not help, so only a tap does.
          item.state = 'failed';
          item.hold = true;
          item.reason = err.message.replace(/\\.?$/, '.');
          paint(item);
          flush();
          return;
        }
        // The network or the server failed: everything waits, and goes out when it is back.
        item.state = 'failed';
        paint(item);
        markWaiting();
        flushTimer = setTimeout(function () { flush(true); }, flushDelay);
        flushDelay = Math.min(flushDelay * 2, 30000);
      },
    );
  }

  // ---- Connection ---------------------------------------------------------------------------

  function newSession() {
    var name = new URLSearchParams(location.search).get('name');
    return api('POST', '/sessions', name ? { name: name.trim().slice(0, 200) } : {}).then(function (s) {
      token = s.sessionToken;
      save(storageKey, token);
    });
  }

  function closeStream() {
    if (source) source.close();
    source = null;
  }

  function setOnline(value) {
    online = value;
    if (value) {
      wasOnline = true;
      retryDelay = 1000;
      setStatus('online', 'Online');
      showNotice('');
      flush();
    } else {
      markWaiting();
    }
  }

  // EventSource cannot send an Authorization header, so the stream takes the token in its URL.
  // It reconnects by itself after a network error, sending Last-Event-ID so nothing is missed.
  function openStream() {
    closeStream();
    var q = new URLSearchParams({ token: token });
    if (lastId) q.set('after', lastId);
    var es = new EventSource(base + '/stream?' + q);
    source = es;
    es.onopen = function () { setOnline(true); };
    es.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m && typeof m.id === 'string' && m.id > lastId) lastId = m.id;
      render(m);
    };
    es.addEventListener('handoff', function (ev) {
      try { onHandoff(JSON.parse(ev.data)); } catch (e) { /* ignore a malformed frame */ }
    });
    // The session opened more streams (tabs) than the server keeps: this, the oldest, was closed.
    // Reconnecting would only close the next one, so this tab waits to be reloaded.
    es.addEventListener('superseded', function () {
      closeStream();
      setOnline(false);
      setStatus('offline', 'Paused');
      showNotice('This chat is open in too many tabs. Reload this one to continue here.');
    });
    es.onerror = function () {
      setOnline(false);
      if (es.readyState === EventSource.CLOSED) {
        // Refused outright (session gone, server shutting down): start over with backoff.
        closeStream();
        retryLater('');
      } else {
        setStatus('connecting', 'Reconnecting\\u2026');
      }
    };
  }

  function retryLater(problem) {
    setOnline(false);
    setStatus('offline', 'Offline');
    if (problem) {
      showNotice(problem + ' Retrying in ' + Math.round(retryDelay / 1000) + ' s.');
      updatePlaceholder('The chat could not be loaded.');
    }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(start, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function resetSession() {
    save(storageKey, null);
    token = null;
    lastId = '';
    lastBotId = '';
    seen.clear();
    Array.from(log.querySelectorAll('[data-key]')).forEach(function (li) { li.remove(); });
    hands = { to: 'bot', name: botName };
    showHands();
  }

  function start() {
    clearTimeout(retryTimer);
    closeStream();
    setStatus('connecting', lastId ? 'Reconnecting\\u2026' : 'Connecting\\u2026');
    token = load(storageKey);
    // A stored session is checked first: the stream cannot tell a refusal from a network error.
    var ready = token ? api('GET', '/messages?limit=1') : newSession();
    ready
      .catch(function (err) {
        // The stored session no longer exists (say, a new database): begin a new one.
        if (err && err.status === 401) {
          resetSession();
          return newSession();
        }
        throw err;
      })
      .then(openStream)
      .catch(function (err) {
        var status = err && err.status;
        retryLater(status === 404 ? 'This chat is not available any more.'
          : status ? 'The chat is not available right now (' + err.message.replace(/\\.$/, '') + ').'
          : 'Cannot reach the chat. Check your connection.');
      });
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = input.scrollHeight + 2 + 'px';
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize();
    queue(text);
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', autosize);
  byId('retry').addEventListener('click', function () {
    retryDelay = 1000;
    start();
  });
  window.addEventListener('online', function () { if (!source) start(); else flush(true); });
  window.addEventListener('offline', function () {
    setOnline(false);
    setStatus('offline', 'Offline');
  });

  // Messages left unsent when the page was closed go out with the ids they were given.
  try {
    var kept = JSON.parse(load(outboxKey) || '[]');
    if (Array.isArray(kept)) kept.forEach(function (k) {
      if (k && typeof k.clientId === 'string' && typeof k.text === 'string') {
        var item = { clientId: k.clientId, text: k.text, state: 'sending', hold: false, li: null };
        outbox.push(item);
        paint(item);
      }
    });
  } catch (e) { /* nothing kept */ }
  showHands();
  start();
})();
`;

/** relevo's icon, inline like everything else on the page: no request, so no 404 either. */
const ICON_LINKS = `<link rel="icon" type="image/svg+xml" href="data:image/svg+xml;base64,${Buffer.from(FAVICON_SVG).toString('base64')}">`;

const SEND_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"/></svg>';

/** Whether an Accept header asks for a page rather than data (a browser's navigation does). */
export function wantsHtml(accept: string | undefined): boolean {
  return /\btext\/html\b|\bapplication\/xhtml\+xml\b/i.test(accept ?? '');
}

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
${ICON_LINKS}
<style nonce="${nonce}">${STYLE}</style>
</head>
<body data-bot-name="${name}">
<main class="chat">
<header class="top" id="top" data-hands="bot">
<div class="avatar" id="avatar" aria-hidden="true">${initial}</div>
<div class="who">
<h1 id="title">${name}</h1>
<p class="status" id="status" data-state="connecting" role="status"><span class="dot"></span><span id="status-text">Connecting…</span><span class="role" id="role"></span></p>
</div>
</header>
<div class="notice" id="notice" role="alert" hidden><span id="notice-text"></span><button type="button" id="retry">Try again</button></div>
<div class="pane">
<ol class="log" id="log" aria-live="polite" aria-label="Messages"></ol>
<p class="placeholder" id="placeholder">Connecting to the chat…</p>
</div>
<form class="composer" id="composer" autocomplete="off">
<textarea id="input" rows="1" maxlength="4096" placeholder="Type a message" aria-label="Message" enterkeyhint="send"></textarea>
<button id="send" type="submit" aria-label="Send">${SEND_ICON}</button>
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
${ICON_LINKS}
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
