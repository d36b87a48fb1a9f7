/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT unset, no OpenTelemetry module is even loaded
 * (docs/operations.md, "Traces"). The built server runs under a module-resolution hook that
 * refuses every `@opentelemetry/…` import: it serves and delivers without one; with the endpoint
 * set, the same hook stops it at start (which shows the hook does catch the tracer's imports).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, freePort, Served, spawnRelevo } from '../helpers/spawned-server.js';

const TOKEN = 'observability-off-admin-token-0123';
let dir: string;
let receiver: Receiver;
let register: string;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-otel-off-'));
  receiver = await startReceiver();
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@opentelemetry/')) throw new Error('refused import of ' + specifier);
  return next(specifier, context);
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  register = join(dir, 'register.mjs');
});
afterAll(async () => {
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(name: string, env: NodeJS.ProcessEnv): Promise<Served> {
  const port = await freePort();
  const child = spawnRelevo({
    port,
    nodeArgs: ['--import', register],
    env: {
      DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}`,
      RELEVO_ADMIN_TOKEN: TOKEN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
      ...env,
    },
  });
  return new Served(child, port);
}

it('tracing off: serves and delivers without loading any @opentelemetry module', async () => {
  const served = await start('off', {});
  try {
    await served.waitFor((l) => l.msg === 'relevo listening', 'relevo listening', 20_000);
    const seed = await seedOverHttp([served.port], TOKEN, {
      name: 'Off',
      webhookUrl: receiver.url,
      pairs: 1,
    });
    const before = receiver.received.length;
    const res = await fetch(
      `http://127.0.0.1:${served.port}/v1/external-support/${seed.projectId}/conversations/start`,
      {
        method: 'POST',
        headers: { ...seed.key, 'content-type': 'application/json' },
        body: JSON.stringify(seed.pairs[0]),
      },
    );
    expect(res.status).toBe(200);
    const [delivered] = (await receiver.waitFor(before + 1)).slice(before);
    // No trace to continue: no traceparent is sent.
    expect(delivered?.headers.traceparent).toBeUndefined();
    expect(served.stderr).not.toContain('refused import');
  } finally {
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  }
});

it('tracing on: the same hook stops the start, so it does see the tracer loading', async () => {
  const served = await start('on', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
  expect(await served.exited).toBe(1);
  expect(served.stderr).toContain('refused import of @opentelemetry/');
});
