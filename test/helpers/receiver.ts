/**
 * A real webhook receiver on loopback. It records every request (raw body, headers, arrival
 * time) and answers with a scripted behaviour, by default 200.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export type Behaviour =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Never answers (until the receiver closes). */
  | { kind: 'hang' }
  /** Destroys the socket without a response. */
  | { kind: 'reset' }
  /** Answers when `release` resolves (with `body`, by default "ok"). */
  | { kind: 'wait'; release: Promise<void>; status: number; headers?: Record<string, string>; body?: string };

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Decide the answer for each request; the default answers 200. */
  respond(fn: (req: Received, index: number) => Behaviour): void;
  /** Resolves once at least `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const received: Received[] = [];
  let behave: (r: Received, i: number) => Behaviour = () => ({ kind: 'status', status: 200 });
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const index = received.length;
      received.push(r);
      for (const w of waiters.splice(0)) {
        if (received.length >= w.n) w.resolve();
        else waiters.push(w);
      }
      const b = behave(r, index);
      switch (b.kind) {
        case 'status':
          res.writeHead(b.status, { 'content-type': 'text/plain', ...(b.headers ?? {}) });
          res.end(b.body ?? 'ok');
          return;
        case 'hang':
          hanging.add(res);
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'wait':
          hanging.add(res);
          void b.release.then(() => {
            hanging.delete(res);
            res.writeHead(b.status, b.headers ?? {}).end(b.body ?? 'ok');
          });
          return;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '::1' ? '[::1]' : host}:${port}/hooks`,
    port,
    received,
    respond(fn) {
      behave = fn;
    },
    waitFor(n, timeoutMs = 30_000) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver got ${received.length} of ${n} requests`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    async close() {
      for (const res of hanging) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
