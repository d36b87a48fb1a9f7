/**
 * What the benchmark's own servers (the baselines, the receiver, the store floor) share: how they
 * answer, and how they tell the orchestrator their port (`startHelper` reads `{"port":N}`) and
 * stop on SIGTERM.
 */
import type { Server, ServerResponse } from 'node:http';

/** A JSON answer with its length (no chunked encoding). */
export function answerJson(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The answer to any other route than start and close. */
export const NOT_FOUND = '{"message":"Not found","statusMessage":"failure","status":0}';

/** Listens on loopback, prints `{"port":N}`, and on SIGTERM closes, runs `beforeExit`, exits 0. */
export function listenForBench(server: Server, beforeExit: () => Promise<void> = async () => {}): void {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    process.stdout.write(`${JSON.stringify({ port })}\n`);
  });
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => {
      void beforeExit().then(() => process.exit(0));
    });
  });
}
