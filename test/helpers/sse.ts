/** A minimal EventSource for tests: connects with fetch and parses frames as they arrive. */

export interface SseEvent {
  id?: string;
  /** The `event:` field, when the frame has one (the web chat's `handoff`). */
  event?: string;
  data: string;
}

/** Opens an SSE stream; `waitFor(n)` resolves once n events have arrived (or throws after a while). */
export async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  /** Unnamed events (messages) only; named ones go to `named`. */
  const events: SseEvent[] = [];
  const named: SseEvent[] = [];
  /** Every event, named or not, in the order received. */
  const all: SseEvent[] = [];
  let raw = '';
  let received = '';
  const waiters: Array<() => void> = [];
  const done = (async () => {
    if (res.body === null) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        raw += text;
        received += text;
        let cut = raw.indexOf('\n\n');
        while (cut >= 0) {
          const frame = raw.slice(0, cut);
          raw = raw.slice(cut + 2);
          const ev: SseEvent = { data: '' };
          let isEvent = false;
          for (const line of frame.split('\n')) {
            if (line.startsWith('id: ')) ev.id = line.slice(4);
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            if (line.startsWith('data: ')) {
              ev.data += line.slice(6);
              isEvent = true;
            }
          }
          if (isEvent) {
            (ev.event === undefined ? events : named).push(ev);
            all.push(ev);
          }
          for (const w of waiters.splice(0)) w();
          cut = raw.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    named,
    all,
    messages: () =>
      events.map((e) => JSON.parse(e.data) as { id: string; sender: string; content: { body?: string } }),
    async waitFor(n: number, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs;
      while (events.length < n) {
        if (Date.now() > until) throw new Error(`stream got ${events.length} of ${n} events`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return events;
    },
    /** Like waitFor, counting every event, named or not (the project event stream names all). */
    async waitForAll(n: number, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs;
      while (all.length < n) {
        if (Date.now() > until) throw new Error(`stream got ${all.length} of ${n} events`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return all;
    },
    /** Every byte received so far, frames and comments alike. */
    text: () => received,
    async close() {
      controller.abort();
      await done;
    },
    done,
  };
}
