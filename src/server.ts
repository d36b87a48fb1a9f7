/**
 * The server process: open and migrate the store, build the app, listen; and the graceful
 * shutdown that SIGTERM/SIGINT start. Nothing here calls process.exit: the CLI entry passes
 * its own `exit`, so tests drive all of it in-process.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import pino, { type Logger } from 'pino';
import { type App, buildApp } from './app.js';
import { type AdminTokenState, ensureAdminToken } from './auth/admin-token.js';
import { type SessionSweeper, startSessionSweeper } from './channels/webchat/session-sweeper.js';
import type { Config } from './config.js';
import { type DeliveryWorker, startDeliveryWorker } from './delivery/delivery-worker.js';
import { firstRunBanner } from './first-run-banner.js';
import { LOG_REDACT_PATHS, REDACTED, serializeRequest } from './http/log-redaction.js';
import { Metrics } from './observability/metrics.js';
import { type MetricsListener, startMetricsListener } from './observability/metrics-server.js';
import { loadTracer, type Tracer } from './observability/tracer.js';
import { openStore } from './storage/open-store.js';
import { SecretBox } from './storage/secret-box.js';
import type { Store } from './storage/store.js';
import { VERSION } from './version.js';

export function createLogger(
  config: Pick<Config, 'logLevel'>,
  /** Where lines go; standard output (pino's own writer) when not given. */
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: 'relevo' },
    // Whatever logs a request or its headers, secrets stay out (buildApp also sets `req` on
    // the app's own logger, for loggers made elsewhere).
    serializers: { req: serializeRequest },
    redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export interface RunningServer {
  readonly app: App;
  readonly store: Store;
  readonly logger: Logger;
  /** The delivery worker, unless RELEVO_ROLE=api. */
  readonly worker: DeliveryWorker | undefined;
  /** Where the server listens, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** Where Prometheus scrapes, e.g. `http://127.0.0.1:9464/metrics`; undefined when metrics are off. */
  readonly metricsUrl: string | undefined;
  /**
   * Stops accepting, lets in-flight requests finish, then closes the store. Safe to call more
   * than once: every call returns the same promise.
   */
  stop(): Promise<void>;
}

export interface ServeOptions {
  readonly logger?: Logger;
  /** Where a first start prints the admin token it created; process.stderr by default. */
  readonly stderr?: (text: string) => void;
}

/** How often a draining server looks for connections that have just become idle. */
const DRAIN_POLL_MS = 50;

/**
 * V8 lets the old generation grow to several times the live heap between full collections when
 * the program allocates fast: under the pipeline benchmark that was 240–280 MiB of RSS for
 * ≈ 50 MiB live. Growing it by 1.5× at most kept the peak near 165 MiB at the same throughput
 * (docs/performance.md). V8 reads this flag at every collection, so setting it now works.
 */
const HEAP_GROWING_PERCENT = 50;

/**
 * A flag for node itself, which `npm start`, `npm run dev` and the run lines of
 * docs/operations.md pass; V8 reads it only when node starts, so the server can only say when it
 * is missing. While traffic pauses, V8's memory reducer shrinks the heap; in the first 1–1.5 s of
 * traffic after it, V8's helper threads (collector, compiler) took about half a core, against
 * 4–24 % later, and benchmark (c)'s p99 on PostgreSQL after a pause was 45–74 ms with the
 * reducer and 17–28 ms without it (docs/decisions.md). The executable keeps a plain
 * `#!/usr/bin/env node`: `env -S`, which could pass the flag there, is missing from BusyBox
 * (Alpine).
 */
const NO_MEMORY_REDUCER = '--no-memory-reducer';

export async function serve(config: Config, options: ServeOptions = {}): Promise<RunningServer> {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const logger = options.logger ?? createLogger(config);
  // Loaded (with import()) only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const tracer: Tracer | undefined = await loadTracer(config.otlpEndpoint, VERSION);
  const opened = await openStore(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    listenUrl: config.databaseListenUrl,
    sqliteSynchronous: config.sqliteSynchronous,
    secretBox: new SecretBox(config.encryptionKey),
    backgroundCheckpoints: true,
    // PostgreSQL: an idle connection or LISTEN dropped (the pool reconnects); SQLite: a WAL
    // checkpoint failed (the next one, 100 ms later, tries again).
    onBackgroundError: (err) => logger.warn({ err }, 'database background task failed; retrying'),
  });
  const store = tracer === undefined ? opened : tracer.traceStore(opened);
  const metrics =
    config.metricsAddr === undefined
      ? undefined
      : new Metrics(store, {
          onError: (err) => logger.warn({ err }, 'metrics: the outbox gauges could not be read'),
        });
  let app: App;
  let adminToken: AdminTokenState | undefined;
  let metricsListener: MetricsListener | undefined;
  try {
    const applied = await store.migrate();
    if (applied.length > 0) logger.info({ versions: applied }, 'database migrated');
    adminToken = await prepareAdminToken(config, store);
    app = await buildApp({ config, store, logger, metrics, tracer });
    if (metrics !== undefined && config.metricsAddr !== undefined) {
      metricsListener = await startMetricsListener(metrics, config.metricsAddr, (err) =>
        logger.warn({ err }, 'metrics: a scrape failed'),
      );
    }
  } catch (e) {
    await store.close();
    await tracer?.shutdown();
    throw e;
  }

  const http = app.server.server as Server;
  const inFlight = trackInFlight(http);
  try {
    await app.server.listen({ port: config.port, host: config.host });
  } catch (e) {
    await app.server.close();
    await metricsListener?.close();
    await store.close();
    await tracer?.shutdown();
    throw e;
  }
  const { port } = http.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info(
    {
      address: url,
      host: config.host,
      port,
      version: VERSION,
      role: config.role,
      database: store.dialect,
      adminApi:
        config.role !== 'worker' &&
        (config.adminToken !== undefined || adminToken?.kind === 'created' || adminToken?.kind === 'exists'),
    },
    'relevo listening',
  );
  if (!process.execArgv.includes(NO_MEMORY_REDUCER)) {
    logger.info(
      { nodeFlag: NO_MEMORY_REDUCER, see: 'docs/operations.md, "Starting the server"' },
      `node was started without ${NO_MEMORY_REDUCER}: after a pause in traffic, the first second is slower`,
    );
  }
  if (metricsListener !== undefined) logger.info({ address: metricsListener.url }, 'metrics listening');
  if (tracer !== undefined)
    logger.info({ endpoint: config.otlpEndpoint }, 'tracing on: spans go to the OTLP endpoint');
  logAdminApi(logger, config, adminToken, port, options.stderr ?? ((text) => process.stderr.write(text)));
  if (config.encryptionKey === undefined) {
    logger.warn(
      'RELEVO_ENCRYPTION_KEY is not set: webhook signing secrets and credentials are stored unencrypted; set it to 32 random bytes (openssl rand -hex 32)',
    );
  }
  let worker: DeliveryWorker | undefined;
  if (config.role !== 'api') {
    worker = await startDeliveryWorker({ config, store, log: logger, metrics, tracer });
    logger.info({ owner: worker.dispatcher.owner }, 'delivery worker started');
  } else if (store.capabilities.singleProcess) {
    logger.warn(
      'RELEVO_ROLE=api on SQLite: this process delivers no webhooks; run one process with RELEVO_ROLE=all',
    );
  }

  // Alongside the API that creates the sessions; on any number of nodes (see the module).
  const sweeper: SessionSweeper | undefined =
    config.role === 'worker'
      ? undefined
      : startSessionSweeper({ store, ttlMs: config.webchatIdleSessionTtlMs, log: logger });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      app.beginShutdown();
      // A keep-alive connection whose request is still running would otherwise stay open
      // after its answer until the keep-alive timeout, holding close() for that long: those
      // answers say `Connection: close`, and connections are closed as soon as they go idle.
      inFlight.finishing = true;
      for (const res of inFlight.responses) if (!res.headersSent) res.setHeader('connection', 'close');
      const poll = setInterval(() => http.closeIdleConnections(), DRAIN_POLL_MS);
      try {
        await app.server.close();
      } finally {
        clearInterval(poll);
      }
      // Requests are drained (their events are committed); attempts in flight get what is left
      // of the grace period, then are abandoned and repeated at the next start.
      await sweeper?.stop();
      await worker?.stop(Math.max(0, config.shutdownTimeoutMs - 1_000));
      await store.close();
      // Scrapes keep answering until the end, and the last spans are sent before exit.
      await metricsListener?.close();
      await tracer?.shutdown();
    })();
    return stopping;
  };

  return { app, store, logger, worker, url, port, metricsUrl: metricsListener?.url, stop };
}

/**
 * Without RELEVO_ADMIN_TOKEN, the admin API uses the database's token: the first server to start
 * on a fresh database creates it (undefined: this process serves no admin API, or has its token
 * from the environment).
 */
async function prepareAdminToken(config: Config, store: Store): Promise<AdminTokenState | undefined> {
  if (config.role === 'worker' || config.adminApiOff || config.adminToken !== undefined) return undefined;
  return ensureAdminToken(store.queries, Date.now());
}

/** The start-up lines about the admin API: whether it is on, and how to use or turn it on. */
function logAdminApi(
  logger: Logger,
  config: Config,
  state: AdminTokenState | undefined,
  port: number,
  stderr: (text: string) => void,
): void {
  if (config.role === 'worker') return;
  if (config.adminApiOff) {
    logger.info(
      'admin API is off (RELEVO_ADMIN_TOKEN=off); to turn it on, unset RELEVO_ADMIN_TOKEN (the database token) or set it to a token of 16 characters or more',
    );
    return;
  }
  if (state === undefined) return;
  if (state.kind === 'none') {
    logger.info(
      'admin API is off: this database has no admin token; run `relevo admin-token reset` to create one (or set RELEVO_ADMIN_TOKEN)',
    );
    return;
  }
  if (state.kind === 'exists') {
    logger.info(
      'admin API is on with the token printed at the first start; lost it? `relevo admin-token reset` prints a new one',
    );
    return;
  }
  // The only time the token exists in clear: printed for a person on stderr, never into the
  // JSON log, which collectors keep and forward; the log only says that it was created.
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info('admin API on: a first-run admin token was created and printed once on stderr');
  stderr(firstRunBanner(state.token, base));
}

/** The responses not yet finished, so shutdown can mark them as the last on their connection. */
function trackInFlight(http: Server): { responses: Set<ServerResponse>; finishing: boolean } {
  const state = { responses: new Set<ServerResponse>(), finishing: false };
  // Registered before the app's own listener, so it sees every request first.
  http.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (state.finishing) {
      if (!res.headersSent) res.setHeader('connection', 'close');
      return;
    }
    state.responses.add(res);
    const done = () => state.responses.delete(res);
    res.once('finish', done);
    res.once('close', done);
  });
  return state;
}

export interface SignalOptions {
  /** After this long, shutdown gives up and exits 1 (config.shutdownTimeoutMs). */
  readonly timeoutMs: number;
  /** Ends the process; the CLI passes process.exit. */
  readonly exit: (code: number) => void;
  /** Where SIGTERM and SIGINT come from; the process by default. */
  readonly source?: NodeJS.EventEmitter;
}

/**
 * First SIGTERM/SIGINT: graceful stop, then exit 0 (1 when the stop fails or overruns the
 * deadline). A second signal exits 1 at once, for an operator who does not want to wait.
 * Returns a function that removes the handlers.
 */
export function exitOnSignals(running: RunningServer, options: SignalOptions): () => void {
  const source = options.source ?? process;
  const log = running.logger;
  let received: string | undefined;

  const onSignal = (signal: string) => {
    if (received !== undefined) {
      log.warn({ signal }, 'second signal during shutdown; exiting now');
      options.exit(1);
      return;
    }
    received = signal;
    log.info({ signal, timeoutMs: options.timeoutMs }, 'shutting down: finishing in-flight requests');
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: options.timeoutMs }, 'shutdown did not finish in time; exiting');
      options.exit(1);
    }, options.timeoutMs);
    running.stop().then(
      () => {
        clearTimeout(deadline);
        log.info('shutdown complete');
        options.exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        log.error({ err }, 'shutdown failed');
        options.exit(1);
      },
    );
  };

  // A throw nobody caught leaves the process in a state nobody planned: it is logged (with the
  // stack, as one JSON line) and the process exits 1 for its supervisor to restart it, rather
  // than Node printing to stderr outside the log or serving on half-broken.
  const onCrash = (kind: string) => (err: unknown) => {
    log.fatal({ err: err instanceof Error ? err : new Error(String(err)), kind }, 'crashed; exiting');
    options.exit(1);
  };
  const onUncaught = onCrash('uncaughtException');
  const onUnhandled = onCrash('unhandledRejection');
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  source.on('SIGTERM', onTerm);
  source.on('SIGINT', onInt);
  source.on('uncaughtException', onUncaught);
  source.on('unhandledRejection', onUnhandled);
  return () => {
    source.off('SIGTERM', onTerm);
    source.off('SIGINT', onInt);
    source.off('uncaughtException', onUncaught);
    source.off('unhandledRejection', onUnhandled);
  };
}
