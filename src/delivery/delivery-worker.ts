/**
 * The delivery worker as one unit: the network policy, the sender and the dispatcher, built from
 * configuration. Started by `relevo serve` when RELEVO_ROLE is worker or all, and by tests.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { Store } from '../storage/store.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { HostResolver } from './host-resolver.js';
import { parseAllowList } from './network-policy.js';
import { WebhookSender } from './webhook-sender.js';

/**
 * Attempts in flight in one process that any integration may take (each holds a socket); past
 * them, every integration still gets a few of its own (dispatcher.ts, GUARANTEED_PER_LANE).
 */
const MAX_IN_FLIGHT = 512;

export interface DeliveryWorker {
  readonly dispatcher: Dispatcher;
  /** Finishes attempts in flight for up to `graceMs`, abandons the rest, closes connections. */
  stop(graceMs: number): Promise<void>;
}

export async function startDeliveryWorker(deps: {
  config: Config;
  store: Store;
  log: FastifyBaseLogger;
  clock?: () => number;
  random?: () => number;
  readyQueue?: DispatcherOptions['readyQueue'];
  metrics?: DispatcherOptions['metrics'];
  tracer?: DispatcherOptions['tracer'];
}): Promise<DeliveryWorker> {
  const { config } = deps;
  const sender = new WebhookSender({
    allow: parseAllowList(config.webhookAllow),
    connectionsPerOrigin: config.webhookConcurrency,
    resolver: new HostResolver({ servers: config.dnsServers }),
  });
  const dispatcher = new Dispatcher({
    store: deps.store,
    sender,
    log: deps.log,
    timeoutMs: config.webhookTimeoutMs,
    scheduleMs: config.webhookRetryScheduleMs,
    perIntegrationLimit: config.webhookConcurrency,
    maxInFlight: MAX_IN_FLIGHT,
    channelEnv: { graphUrl: config.whatsappGraphUrl },
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.readyQueue ? { readyQueue: deps.readyQueue } : {}),
    metrics: deps.metrics,
    tracer: deps.tracer,
  });
  await dispatcher.start();
  let stopping: Promise<void> | undefined;
  return {
    dispatcher,
    // Idempotent: shutdown paths may overlap (a signal during a test's own cleanup).
    stop(graceMs) {
      stopping ??= (async () => {
        await dispatcher.stop(graceMs);
        await sender.close();
      })();
      return stopping;
    },
  };
}
