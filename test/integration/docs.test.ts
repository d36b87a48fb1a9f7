/**
 * The API reference: /openapi.json is a valid OpenAPI 3 document listing each operation once
 * (aliases hidden), and /docs is a self-contained page that renders it. When a Chromium is
 * installed, the page is also rendered by a real browser under its own CSP.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is read loosely and asserted on.
type Json = any;

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'options', 'head', 'trace'];
const START = '/jelouapi/v1/external-support/{projectId}/conversations/start';

let h: Harness;
let doc: Json;

beforeAll(async () => {
  h = await createHarness();
  const res = await h.app.server.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  doc = res.json();
});
afterAll(async () => h?.close());

function operations(): Array<{ path: string; method: string; op: Json }> {
  const out: Array<{ path: string; method: string; op: Json }> = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const method of METHODS)
      if (item[method] !== undefined) out.push({ path, method, op: item[method] });
  }
  return out;
}

/** Follows a local `$ref` (the document may use components). */
function deref(node: Json): Json {
  let n = node;
  for (let i = 0; i < 16 && n && typeof n.$ref === 'string'; i++) {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((acc: Json, k: string) => acc?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return n;
}

describe('/openapi.json', () => {
  it('is an OpenAPI 3 document with info and paths', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.info?.title).toBe('string');
    expect(typeof doc.info?.version).toBe('string');
    expect(doc.paths).toBeTypeOf('object');
    expect(operations().length).toBeGreaterThan(0);
  });

  it('passes a JSON-schema validation against the official OpenAPI 3 schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists each route once: canonical prefixes only, aliases hidden', () => {
    for (const path of Object.keys(doc.paths)) {
      const canonical = path.startsWith('/jelouapi/v1/') || path.startsWith('/admin/v1/');
      if (canonical) continue;
      // Anything else must not be an alias of a management route.
      expect(path, `${path} is under an alias prefix`).not.toMatch(/^\/platform\/v1(\/|$)/);
      if (path.startsWith('/v1/')) {
        // runtime.md puts the custom channel at /v1/custom-channel/{botId}: a route of its own,
        // not an alias of a /jelouapi/v1 route.
        expect(path, `${path} is under the /v1 alias prefix`).toMatch(/^\/v1\/custom-channel\//);
        expect(doc.paths[`/jelouapi${path}`]).toBeUndefined();
      }
    }
  });

  it('hides itself and /docs', () => {
    expect(doc.paths['/openapi.json']).toBeUndefined();
    expect(doc.paths['/docs']).toBeUndefined();
  });

  it('gives every operation a tag, a summary and at least one response', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(Array.isArray(op.tags) && op.tags.length > 0, `${where} has no tag`).toBe(true);
      expect(typeof op.summary === 'string' && op.summary !== '', `${where} has no summary`).toBe(true);
      expect(Object.keys(op.responses ?? {}).length, `${where} has no response`).toBeGreaterThan(0);
    }
  });

  it('documents start-conversation with its request schema and responses', () => {
    const op = doc.paths[START]?.post;
    expect(op, `${START} is missing`).toBeDefined();
    expect(op.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'projectId', in: 'path', required: true })]),
    );

    const body = deref(op.requestBody);
    expect(body.required).toBe(true);
    const schema = deref(body.content['application/json'].schema);
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect([...schema.required].sort()).toEqual(['botId', 'userId']);
    const props = schema.properties;
    expect(Object.keys(props).sort()).toEqual([
      'assignment',
      'botId',
      'initialMessage',
      'metadata',
      'userId',
    ]);
    expect(deref(props.botId)).toMatchObject({ type: 'string', minLength: 1 });
    expect(deref(props.userId)).toMatchObject({ type: 'string', minLength: 1 });
    expect(deref(props.initialMessage)).toMatchObject({ type: 'string', minLength: 1, maxLength: 4096 });
    expect(deref(props.metadata)).toMatchObject({ type: 'object' });
    const assignment = deref(props.assignment);
    expect([...assignment.required].sort()).toEqual(['target', 'type']);
    expect(deref(assignment.properties.type).enum).toEqual(['queue', 'operator', 'team']);

    const statuses = Object.keys(op.responses);
    expect(statuses).toEqual(expect.arrayContaining(['200', '401', '404', '409', '422']));
    const ok = deref(deref(op.responses['200']).content['application/json'].schema);
    expect(Object.keys(deref(ok.properties.data).properties).sort()).toEqual([
      'botId',
      'conversationId',
      'roomId',
      'status',
      'userId',
    ]);
    for (const status of ['401', '404', '409', '422']) {
      const err = deref(deref(op.responses[status]).content['application/json'].schema);
      expect(Object.keys(err.properties), status).toEqual(
        expect.arrayContaining(['message', 'statusMessage', 'status', 'error', 'validationError']),
      );
    }
  });

  it('declares the security schemes the operations use', () => {
    const schemes = Object.keys(doc.components?.securitySchemes ?? {});
    expect(schemes).toEqual(expect.arrayContaining(['apiKey', 'basic']));
    for (const { op } of operations()) {
      for (const requirement of op.security ?? doc.security ?? []) {
        for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
      }
    }
  });
});

describe('/docs', () => {
  async function page() {
    return h.app.server.inject({ method: 'GET', url: '/docs' });
  }

  it('is an HTML page that loads /openapi.json', async () => {
    const res = await page();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toMatch(/^<!doctype html>/i);
    expect(res.body).toContain('name="viewport"');
    expect(res.body).toContain("fetch('/openapi.json'");
  });

  it('references no external asset', async () => {
    const { body } = await page();
    expect(body).not.toMatch(/https?:\/\//i);
    // Also no protocol-relative URL in an attribute or in CSS.
    expect(body).not.toMatch(/(src|href)\s*=\s*["']?\/\//i);
    expect(body).not.toMatch(/url\(\s*["']?\/\//i);
    expect(body).not.toMatch(/@import/i);
    expect(body).not.toMatch(/<script[^>]+src=/i);
    expect(body).not.toMatch(/<link[^>]+rel=["']?stylesheet/i);
  });

  it('is served with a CSP that admits exactly its inline script and style', async () => {
    const res = await page();
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
    const scripts = [...res.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    const styles = [...res.body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(csp).toContain(`script-src ${hash(scripts[0] ?? '')}`);
    expect(csp).toContain(`style-src ${hash(styles[0] ?? '')}`);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('inserts document text as text, never as HTML', async () => {
    const { body } = await page();
    const script = /<script>([\s\S]*?)<\/script>/.exec(body)?.[1] ?? '';
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});

function findChromium(): string | undefined {
  const names = ['chromium', 'chromium-browser', 'google-chrome'];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of names) if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const chromium = findChromium();

describe.skipIf(chromium === undefined)('/docs in a headless browser', () => {
  it('renders every operation with its fields and responses', async () => {
    const address = await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    const dom = await new Promise<string>((resolve, reject) => {
      execFile(
        chromium!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--no-first-run',
          '--virtual-time-budget=5000',
          '--dump-dom',
          `${address}/docs`,
        ],
        { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });
    // Field paths carry <wbr> line-break hints after each dot.
    const html = dom.replace(/<wbr>/g, '');
    const count = operations().length;
    expect(html).toContain(`data-rendered="${count}"`);
    expect(html).toContain(START);
    expect(html.match(/<article class="op"/g)?.length).toBe(count);
    // The start-conversation body as a field table, with its rules.
    for (const field of ['botId', 'initialMessage', 'assignment.type', 'assignment.target', 'metadata']) {
      expect(html).toContain(`>${field}</td>`);
    }
    expect(html).toContain('length 1..4096');
    expect(html).toContain('one of: "queue", "operator", "team"');
    for (const status of ['200', '401', '404', '409', '422']) expect(html).toContain(`>${status}</span>`);
  });
});
