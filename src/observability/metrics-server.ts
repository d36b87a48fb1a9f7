/**
 * The metrics listener (RELEVO_METRICS_ADDR): a plain node:http server of its own, apart from
 * the API's port, so that metrics are never exposed on the public port by accident. It answers
 * `GET /metrics` (HEAD too) and 404 to everything else.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export interface MetricsListener {
  /** e.g. `http://127.0.0.1:9464/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(
  metrics: Metrics,
  address: { readonly host: string; readonly port: number },
  onError: (e: unknown) => void,
): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: GET /metrics\n');
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (e: unknown) => {
        onError(e);
        res
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end('metrics collection failed\n');
      },
    );
  });
  // A scraper that keeps its connection open must not hold the shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
