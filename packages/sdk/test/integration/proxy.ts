/**
 * A loopback HTTP proxy in front of a running relevo that can misbehave on purpose: drop an
 * answer after the server has produced it, answer for the server, cut a stream after its first
 * event, or never answer.
 */
import { createServer, type IncomingHttpHeaders, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The status the server answered, once it did (undefined for requests not forwarded). */
  status?: number;
}

export type Plan =
  | { kind: 'forward' }
  /** Forwards, lets the server answer in full, then destroys the client's socket. */
  | { kind: 'drop-answer' }
  /** Answers itself. */
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: string }
  /** Forwards a stream, and cuts it right after its first complete event. */
  | { kind: 'cut-after-first-event' }
  | { kind: 'hang' }
  /** Answers 200 with the head and the start of a JSON body, and never the rest. */
  | { kind: 'stall-body' };

export interface Proxy {
  readonly url: string;
  readonly seen: Seen[];
  plan(fn: (seen: Seen, index: number) => Plan): void;
  close(): Promise<void>;
}

export async function startProxy(upstream: string): Promise<Proxy> {
  const seen: Seen[] = [];
  const target = new URL(upstream);
  let decide: (s: Seen, i: number) => Plan = () => ({ kind: 'forward' });
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Seen = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(entry);
      const plan = decide(entry, seen.length - 1);
      open.add(res);
      res.on('close', () => open.delete(res));
      if (plan.kind === 'hang') return;
      if (plan.kind === 'stall-body') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"data":');
        return;
      }
      if (plan.kind === 'answer') {
        res.writeHead(plan.status, plan.headers).end(plan.body);
        return;
      }
      const upstreamRequest = request(
        {
          host: target.hostname,
          port: target.port,
          method: entry.method,
          path: entry.path,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          entry.status = answer.statusCode;
          if (plan.kind === 'drop-answer') {
            answer.resume();
            answer.on('end', () => res.socket?.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (plan.kind === 'forward') {
            answer.pipe(res);
            return;
          }
          let text = '';
          let cut = false;
          answer.on('data', (chunk: Buffer) => {
            if (cut) return;
            text += chunk.toString('utf8');
            const start = text.indexOf('id: ');
            const end = start < 0 ? -1 : text.indexOf('\n\n', start);
            if (end < 0) return;
            cut = true;
            answer.destroy();
            // Cut once the event has reached the socket, so the client has it before the cut.
            res.write(text.slice(0, end + 2), () => setTimeout(() => res.socket?.destroy(), 20));
          });
        },
      );
      upstreamRequest.on('error', () => res.socket?.destroy());
      upstreamRequest.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    plan(fn) {
      decide = fn;
    },
    async close() {
      for (const res of open) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
