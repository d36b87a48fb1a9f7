/**
 * The SDK's types come from the server's OpenAPI document: the committed src/generated/ must be
 * what the generator makes of the /openapi.json this checkout serves, and every operation a
 * project can call must have a method.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../../test/helpers/harness.js';
import { coveredOperations, DOCUMENT_BASE, generate } from '../../scripts/openapi-to-ts.js';
import { METHOD_OPERATIONS, Relevo } from '../../src/client.js';
import { OPERATION_KEYS } from '../../src/generated/operations.js';

/**
 * What the document lists and the SDK leaves out, and why. The web chat's own routes are not in
 * the document at all (the widget calls them, from the page relevo serves).
 */
const EXCLUDED = [
  { prefix: '/admin/v1/', reason: 'the admin API: the admin token, for operators (docs/admin.md)' },
  { prefix: '/v1/custom-channel/', reason: "a bot platform's inbound channel, not a help desk's call" },
  {
    prefix: '/v1/channels/whatsapp/',
    reason: "Meta's webhook and the users' media files, not a help desk's call",
  },
];

let h: Harness;
let document: { paths: Record<string, Record<string, unknown>> };

beforeAll(async () => {
  h = await createHarness();
  const answer = await h.app.server.inject({ method: 'GET', url: '/openapi.json' });
  expect(answer.statusCode).toBe(200);
  document = answer.json();
});
afterAll(async () => {
  await h?.close();
});

describe('generated types', () => {
  it('are up to date with /openapi.json (run `npm run generate --workspace @relevo/sdk`)', () => {
    const files = generate(document);
    expect(Object.keys(files).sort()).toEqual(['events.ts', 'operations.ts']);
    for (const [name, content] of Object.entries(files)) {
      const committed = readFileSync(new URL(`../../src/generated/${name}`, import.meta.url), 'utf8');
      expect(committed, `src/generated/${name} is stale`).toBe(content);
    }
  });

  it('name the three events of the panel', () => {
    const events = readFileSync(new URL('../../src/generated/events.ts', import.meta.url), 'utf8');
    expect(events).toContain(
      'export type WebhookEvent = ConversationStartEvent | UserMessageEvent | ConversationCloseEvent;',
    );
  });
});

describe('coverage', () => {
  const operations = () => coveredOperations(document).map((o) => o.key);

  it('every operation of the document is an SDK method or excluded for a stated reason', () => {
    const covered = new Set<string>(Object.values(METHOD_OPERATIONS));
    const missing = operations().filter((key) => !covered.has(key));
    expect(missing, 'operations without an SDK method').toEqual([]);
    // Nothing stays out silently: each path is the API's, or excluded above for its reason.
    const outside = Object.keys(document.paths).filter((p) => !p.startsWith(`${DOCUMENT_BASE}/`));
    expect(outside.filter((p) => !EXCLUDED.some((e) => p.startsWith(e.prefix)))).toEqual([]);
    for (const e of EXCLUDED)
      expect(
        outside.some((p) => p.startsWith(e.prefix)),
        e.reason,
      ).toBe(true);
  });

  it('every SDK method calls an operation of the document and exists on the client', () => {
    expect(new Set(Object.values(METHOD_OPERATIONS))).toEqual(new Set(operations()));
    expect([...OPERATION_KEYS].sort()).toEqual(operations().sort());
    const relevo = new Relevo({ baseUrl: 'http://127.0.0.1:1', projectId: 'prj_x', apiKey: 'k' });
    for (const method of Object.keys(METHOD_OPERATIONS)) {
      const [group, name] = method.split('.') as [string, string];
      const namespace = (relevo as unknown as Record<string, Record<string, unknown>>)[group];
      expect(typeof namespace?.[name], method).toBe('function');
    }
  });
});
