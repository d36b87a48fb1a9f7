/**
 * The console's event-stream reader resumes after the highest event id it showed: an event
 * committed late arrives after one with a higher id (docs/api.md §5.8 "Order"), and resuming from
 * it would make the server send the higher one again, shown twice in Live events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { followEvents, type StreamEvent } from '../src/event-stream';

const frame = (id: string) => `id: ${id}\nevent: message\ndata: {"id":"${id}"}\n\n`;

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('console event stream', () => {
  it('sends Last-Event-ID with the highest id shown, not the last', async () => {
    const asked: Array<string | null> = [];
    const answers = [
      ['retry: 1\n\n', frame('evt_01m920qph54wsf065z9ejrvsp2'), frame('evt_01m920qph54wsf065z9ejrvsp1')],
      [frame('evt_01m920qph54wsf065z9ejrvsp3')],
    ];
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      asked.push(new Headers(init.headers).get('last-event-id'));
      return new Response((answers.shift() ?? []).join(''), { status: 200 });
    });
    const events: StreamEvent[] = [];
    const stream = await new Promise<{ stop(): void }>((resolve) => {
      const s = followEvents({ kind: 'admin', token: 'token' }, 'prj_01m920qph54wsf065z9ejrvsp0', {
        event: (e) => {
          events.push(e);
          if (events.length === 3) resolve(s);
        },
        state: () => undefined,
        unauthorized: () => undefined,
      });
    });
    stream.stop();
    expect(events.map((e) => e.id)).toEqual([
      'evt_01m920qph54wsf065z9ejrvsp2',
      'evt_01m920qph54wsf065z9ejrvsp1',
      'evt_01m920qph54wsf065z9ejrvsp3',
    ]);
    expect(asked).toEqual([null, 'evt_01m920qph54wsf065z9ejrvsp2']);
  });
});
