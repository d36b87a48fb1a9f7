/**
 * `events.stream()` resumes after the highest event id it received: an event committed late
 * arrives after one with a higher id (docs/api.md §5.8 "Order"), and resuming from it would make
 * the server send the higher one again.
 */
import { describe, expect, it } from 'vitest';
import { Relevo } from '../../src/index.js';

const frame = (id: string) =>
  `id: ${id}\nevent: message\ndata: ${JSON.stringify({ event: 'message', id })}\n\n`;

describe('events.stream() resuming', () => {
  it('sends Last-Event-ID with the highest id received, not the last', async () => {
    const asked: Array<string | null> = [];
    const answers = [
      // The late event (lower id) comes second, then the connection ends.
      [frame('evt_01m920qph54wsf065z9ejrvsp2'), frame('evt_01m920qph54wsf065z9ejrvsp1')],
      [frame('evt_01m920qph54wsf065z9ejrvsp3')],
    ];
    const fakeFetch: typeof fetch = async (_input, init) => {
      asked.push(new Headers(init?.headers).get('last-event-id'));
      const frames = answers.shift() ?? [];
      return new Response(frames.join(''), {
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
      });
    };
    const client = new Relevo({
      baseUrl: 'http://relevo.test',
      projectId: 'prj_01m920qph54wsf065z9ejrvsp0',
      apiKey: 'key',
      fetch: fakeFetch,
    });
    const controller = new AbortController();
    const ids: string[] = [];
    for await (const event of client.events.stream({ signal: controller.signal, reconnectDelayMs: 1 })) {
      ids.push(event.id);
      if (ids.length === 3) controller.abort();
    }
    expect(ids).toEqual([
      'evt_01m920qph54wsf065z9ejrvsp2',
      'evt_01m920qph54wsf065z9ejrvsp1',
      'evt_01m920qph54wsf065z9ejrvsp3',
    ]);
    expect(asked).toEqual([null, 'evt_01m920qph54wsf065z9ejrvsp2']);
  });
});
