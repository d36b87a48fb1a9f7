/**
 * The web chat page's script (the entry of the `chat` build, web/webchat/vite.config.js): Vite
 * bundles it with its modules into one classic script, which the server inlines into the page
 * with the response's nonce. It runs the connection (session, stream, reconnects) and the
 * message list; ./dom.ts builds the messages, ./api.ts calls the server, ./storage.ts keeps the
 * session. Every message is built with textContent and DOM properties, never innerHTML: message
 * text comes from visitors and the panel.
 */
import './chat.css';
import { type ApiError, createApi, statusOf } from './api.js';
import { bubbleFor, el, timeLabel } from './dom.js';
import { load, save } from './storage.js';
import type { ChatMessage, HandoffView, OutboxItem } from './types.js';

(() => {
  const base = location.pathname.replace(/\/+$/, '');
  const botName = document.body.getAttribute('data-bot-name') || 'Assistant';
  const storageKey = `relevo.webchat:${base}`;
  const outboxKey = `relevo.webchat.outbox:${base}`;
  function byId<T extends HTMLElement = HTMLElement>(id: string): T {
    return document.getElementById(id) as T;
  }
  const log = byId('log');
  const form = byId<HTMLFormElement>('composer');
  const input = byId<HTMLTextAreaElement>('input');
  const header = byId('top');
  const title = byId('title');
  const avatar = byId('avatar');
  const role = byId('role');
  const statusEl = byId('status');
  const statusText = byId('status-text');
  const notice = byId('notice');
  const noticeText = byId('notice-text');
  const placeholder = byId('placeholder');
  const seen = new Map<string, HTMLLIElement>();
  let token: string | null = null;
  // The last message the stream delivered: where a new stream resumes, and where a handoff line goes.
  let lastId = '';
  let lastBotId = '';
  let source: EventSource | null = null;
  let online = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryDelay = 1000;
  let hands = { to: 'bot', name: botName };
  // Messages typed but not yet acknowledged, in the order typed.
  const outbox: OutboxItem[] = [];
  let inFlight: OutboxItem | null = null;
  let wasOnline = false;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let flushDelay = 2000;
  let typing: HTMLLIElement | null = null;
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  let wasAtBottom = true;
  const api = createApi(base, () => token);

  function setStatus(state: string, text: string): void {
    statusEl.setAttribute('data-state', state);
    statusText.textContent = text;
  }
  function showNotice(text: string): void {
    noticeText.textContent = text;
    notice.hidden = !text;
  }
  function updatePlaceholder(text?: string): void {
    if (text) placeholder.textContent = text;
    placeholder.hidden = log.querySelector('.msg, .system') !== null;
  }

  function showHands(): void {
    header.setAttribute('data-hands', hands.to);
    title.textContent = hands.name;
    avatar.textContent = (Array.from(hands.name.trim())[0] || '?').toUpperCase();
    role.textContent = hands.to === 'person' ? 'Human support' : 'Automated assistant';
  }

  function atBottom(): boolean {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }
  function scrollDown(): void {
    log.scrollTop = log.scrollHeight;
    wasAtBottom = true;
  }
  function stickToBottom(): void {
    if (wasAtBottom) scrollDown();
  }
  log.addEventListener('scroll', () => {
    wasAtBottom = atBottom();
  });
  // The list shrinks when the draft grows to several lines (or the keyboard opens): the last
  // message stays in view above the composer instead of sliding under it.
  if (typeof ResizeObserver === 'function') new ResizeObserver(stickToBottom).observe(log);

  // A message starts a group (and shows its label) when the one before it is from someone else.
  function regroup(li: Element | null): void {
    if (!li) return;
    const prev = li.previousElementSibling;
    const first =
      !prev ||
      prev.getAttribute('data-sender') !== li.getAttribute('data-sender') ||
      prev.getAttribute('data-label') !== li.getAttribute('data-label');
    li.classList.toggle('first', first);
  }

  // Stored messages and handoff lines sort by key (message ids sort by creation); messages not
  // yet stored and the typing dots have no key and stay at the bottom.
  function insertOrdered(li: HTMLLIElement, key: string): void {
    li.setAttribute('data-key', key);
    let before = log.lastElementChild;
    while (before && (!before.hasAttribute('data-key') || before.getAttribute('data-key')! > key)) {
      before = before.previousElementSibling;
    }
    if (before) before.after(li);
    else log.prepend(li);
    regroup(li);
    regroup(li.nextElementSibling);
  }

  function render(m: ChatMessage | null): void {
    if (!m || typeof m.id !== 'string' || seen.has(m.id)) return;
    if (m.clientMessageId) settle(m.clientMessageId);
    const follow = atBottom() || m.sender === 'user';
    const sender = m.sender === 'user' || m.sender === 'operator' ? m.sender : 'bot';
    const li = el('li', `msg ${sender}`);
    li.setAttribute('data-id', m.id);
    li.setAttribute('data-sender', sender);
    if (sender !== 'user') {
      const label = sender === 'operator' ? (hands.to === 'person' ? hands.name : 'Support team') : botName;
      li.setAttribute('data-label', label);
      li.appendChild(el('div', 'label', label));
    }
    li.appendChild(bubbleFor(m, stickToBottom));
    const time = el('time', 'time', timeLabel(m.createdAt));
    time.dateTime = m.createdAt;
    li.appendChild(time);
    insertOrdered(li, m.id);
    seen.set(m.id, li);
    if (sender === 'bot' && m.id > lastBotId) lastBotId = m.id;
    if (sender !== 'user') hideTyping();
    updatePlaceholder();
    if (follow) scrollDown();
  }

  function systemLine(text: string): void {
    const li = el('li', 'system', text);
    li.setAttribute('data-sender', 'system');
    li.setAttribute('role', 'note');
    // Right after the last message the stream delivered: where the room changed hands.
    insertOrdered(li, `${lastId}.`);
    updatePlaceholder();
    stickToBottom();
  }

  function onHandoff(view: HandoffView | null): void {
    if (!view || (view.to !== 'person' && view.to !== 'bot')) return;
    const name =
      typeof view.name === 'string' && view.name ? view.name : view.to === 'bot' ? botName : 'Support team';
    const changed = view.to !== hands.to;
    hands = { to: view.to, name: name };
    showHands();
    if (view.to === 'person') hideTyping();
    if (changed) {
      systemLine(
        view.to === 'person'
          ? 'You\u2019re now talking to a person'
          : 'The conversation with support has ended',
      );
    }
  }

  // "…" only while the bot owns the room and the visitor's message is on its way: the bot
  // answers in the same request, so its reply (if any) is there by the time the answer is.
  // People at the panel send no typing signal, and none is made up for them.
  function showTyping(): void {
    if (hands.to !== 'bot' || typing) return;
    typing = el('li', 'msg bot typing first');
    typing.setAttribute('aria-label', `${botName} is typing`);
    typing.appendChild(el('div', 'label', botName));
    const b = el('div', 'bubble');
    b.appendChild(el('span'));
    b.appendChild(el('span'));
    b.appendChild(el('span'));
    typing.appendChild(b);
    log.appendChild(typing);
    stickToBottom();
  }
  function hideTyping(): void {
    clearTimeout(typingTimer);
    if (typing) typing.remove();
    typing = null;
  }

  // ---- Sending: every message gets its own id, kept until the server has it -----------------

  function newClientId(): string {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join('');
  }
  function saveOutbox(): void {
    save(
      outboxKey,
      outbox.length ? JSON.stringify(outbox.map((i) => ({ clientId: i.clientId, text: i.text }))) : null,
    );
  }

  function paint(item: OutboxItem): void {
    if (!item.li) {
      item.li = el('li', 'msg user pending');
      item.li.setAttribute('data-sender', 'user');
      item.li.appendChild(el('div', 'bubble', item.text));
      const state = el('button', 'state');
      state.type = 'button';
      state.addEventListener('click', () => {
        if (item.state !== 'failed') return;
        item.hold = false;
        item.state = 'sending';
        paint(item);
        flush(true);
      });
      item.li.appendChild(state);
      // After the stored messages and the other unsent ones, before the typing dots.
      if (typing) log.insertBefore(item.li, typing);
      else log.appendChild(item.li);
      regroup(item.li);
      updatePlaceholder();
      scrollDown();
    }
    item.li.setAttribute('data-state', item.state);
    const button = item.li.querySelector<HTMLButtonElement>('.state')!;
    button.disabled = item.state !== 'failed';
    button.textContent =
      item.state === 'failed'
        ? item.reason
          ? `Not sent: ${item.reason} Tap to retry`
          : 'Not sent. Tap to retry'
        : 'Sending\u2026';
  }

  // The server has the message: its pending copy goes, the stored one shows (once).
  function settle(clientId: string): void {
    const i = outbox.findIndex((x) => x.clientId === clientId);
    if (i < 0) return;
    const item = outbox.splice(i, 1)[0];
    if (item?.li) {
      const next = item.li.nextElementSibling;
      item.li.remove();
      regroup(next);
    }
    saveOutbox();
  }

  function queue(text: string): void {
    // Typed before the chat first connected: on its way. Typed after the connection dropped: not
    // sent (yet), which the visitor should know.
    const item: OutboxItem = {
      clientId: newClientId(),
      text: text,
      state: online || !wasOnline ? 'sending' : 'failed',
      hold: false,
      li: null,
    };
    outbox.push(item);
    saveOutbox();
    paint(item);
    flush();
  }

  function markWaiting(): void {
    for (const i of outbox) {
      if (i !== inFlight && i.state !== 'failed') {
        i.state = 'failed';
        paint(i);
      }
    }
  }

  // One at a time, in the order typed. "anyway": the visitor tapped retry, so try even when the
  // stream has not reconnected yet.
  function flush(anyway?: boolean): void {
    clearTimeout(flushTimer);
    if (inFlight || !token || (!online && !anyway)) return;
    const item = outbox.find((i) => !i.hold);
    if (!item) return;
    inFlight = item;
    item.state = 'sending';
    item.reason = '';
    paint(item);
    showTyping();
    const sentAt = lastBotId;
    api<{ messageId: string }>('POST', '/messages', {
      type: 'text',
      content: { body: item.text },
      clientMessageId: item.clientId,
    }).then(
      (r) => {
        inFlight = null;
        flushDelay = 2000;
        if (!seen.has(r.messageId)) {
          render({
            id: r.messageId,
            sender: 'user',
            type: 'text',
            content: { body: item.text },
            createdAt: new Date().toISOString(),
            clientMessageId: item.clientId,
          });
        }
        settle(item.clientId);
        // The bot's reply is committed before this answer: a moment for the stream to bring it.
        if (typing && lastBotId === sentAt) typingTimer = setTimeout(hideTyping, 1500);
        flush();
      },
      (err: unknown) => {
        inFlight = null;
        hideTyping();
        const status = statusOf(err);
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
          item.reason = (err as ApiError).message.replace(/\.?$/, '.');
          paint(item);
          flush();
          return;
        }
        // The network or the server failed: everything waits, and goes out when it is back.
        item.state = 'failed';
        paint(item);
        markWaiting();
        flushTimer = setTimeout(() => {
          flush(true);
        }, flushDelay);
        flushDelay = Math.min(flushDelay * 2, 30000);
      },
    );
  }

  // ---- Connection ---------------------------------------------------------------------------

  function newSession(): Promise<void> {
    const name = new URLSearchParams(location.search).get('name');
    return api<{ sessionToken: string }>(
      'POST',
      '/sessions',
      name ? { name: name.trim().slice(0, 200) } : {},
    ).then((s) => {
      token = s.sessionToken;
      save(storageKey, token);
    });
  }

  function closeStream(): void {
    if (source) source.close();
    source = null;
  }

  function setOnline(value: boolean): void {
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
  function openStream(): void {
    closeStream();
    const q = new URLSearchParams({ token: String(token) });
    if (lastId) q.set('after', lastId);
    const es = new EventSource(`${base}/stream?${q}`);
    source = es;
    es.onopen = () => {
      setOnline(true);
    };
    es.onmessage = (ev: MessageEvent<string>) => {
      let m: ChatMessage | null;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m && typeof m.id === 'string' && m.id > lastId) lastId = m.id;
      render(m);
    };
    es.addEventListener('handoff', (ev) => {
      try {
        onHandoff(JSON.parse((ev as MessageEvent<string>).data));
      } catch {
        /* ignore a malformed frame */
      }
    });
    // The session opened more streams (tabs) than the server keeps: this, the oldest, was closed.
    // Reconnecting would only close the next one, so this tab waits to be reloaded.
    es.addEventListener('superseded', () => {
      closeStream();
      setOnline(false);
      setStatus('offline', 'Paused');
      showNotice('This chat is open in too many tabs. Reload this one to continue here.');
    });
    es.onerror = () => {
      setOnline(false);
      if (es.readyState === EventSource.CLOSED) {
        // Refused outright (session gone, server shutting down): start over with backoff.
        closeStream();
        retryLater('');
      } else {
        setStatus('connecting', 'Reconnecting\u2026');
      }
    };
  }

  function retryLater(problem: string): void {
    setOnline(false);
    setStatus('offline', 'Offline');
    if (problem) {
      showNotice(`${problem} Retrying in ${Math.round(retryDelay / 1000)} s.`);
      updatePlaceholder('The chat could not be loaded.');
    }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(start, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function resetSession(): void {
    save(storageKey, null);
    token = null;
    lastId = '';
    lastBotId = '';
    seen.clear();
    for (const li of Array.from(log.querySelectorAll('[data-key]'))) li.remove();
    hands = { to: 'bot', name: botName };
    showHands();
  }

  function start(): void {
    clearTimeout(retryTimer);
    closeStream();
    setStatus('connecting', lastId ? 'Reconnecting\u2026' : 'Connecting\u2026');
    token = load(storageKey);
    // A stored session is checked first: the stream cannot tell a refusal from a network error.
    const ready: Promise<unknown> = token ? api('GET', '/messages?limit=1') : newSession();
    ready
      .catch((err: unknown) => {
        // The stored session no longer exists (say, a new database): begin a new one.
        if (statusOf(err) === 401) {
          resetSession();
          return newSession();
        }
        throw err;
      })
      .then(openStream)
      .catch((err: unknown) => {
        const status = statusOf(err);
        retryLater(
          status === 404
            ? 'This chat is not available any more.'
            : status
              ? `The chat is not available right now (${(err as ApiError).message.replace(/\.$/, '')}).`
              : 'Cannot reach the chat. Check your connection.',
        );
      });
  }

  function autosize(): void {
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight + 2}px`;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize();
    queue(text);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', autosize);
  // In the widget's frame, Escape closes the chat as it does on the host page: keys typed in the
  // frame never reach that page, so the frame tells it (nothing else; any origin may hear it).
  if (document.documentElement.getAttribute('data-embed') === '1' && window.parent !== window) {
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.isComposing) window.parent.postMessage({ relevoWebchat: 'close' }, '*');
    });
  }
  byId('retry').addEventListener('click', () => {
    retryDelay = 1000;
    start();
  });
  window.addEventListener('online', () => {
    if (!source) start();
    else flush(true);
  });
  window.addEventListener('offline', () => {
    setOnline(false);
    setStatus('offline', 'Offline');
  });

  // Messages left unsent when the page was closed go out with the ids they were given.
  try {
    const kept: unknown = JSON.parse(load(outboxKey) || '[]');
    if (Array.isArray(kept)) {
      for (const k of kept) {
        if (k && typeof k.clientId === 'string' && typeof k.text === 'string') {
          const item: OutboxItem = {
            clientId: k.clientId,
            text: k.text,
            state: 'sending',
            hold: false,
            li: null,
          };
          outbox.push(item);
          paint(item);
        }
      }
    }
  } catch {
    /* nothing kept */
  }
  showHands();
  start();
})();
