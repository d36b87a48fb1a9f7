/**
 * The API reference: /openapi.json is a valid OpenAPI 3.1 document listing each operation once
 * (aliases hidden), with an example for every request body and response that the app's own
 * validator accepts, the events as `webhooks`, and `servers` set from the request. /docs is
 * Swagger UI with every asset served by relevo under a strict CSP; test/e2e/docs.test.ts drives
 * it in a real browser.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AJV_OPTIONS } from '../../src/app.js';
import { conversationStartEvent, messageEvent } from '../../src/domain/events.js';
import { CATALOGUE, type ErrorCode } from '../../src/errors.js';
import { REQUEST_BODIES } from '../../src/http/openapi/examples.js';
import { sampleOf } from '../../src/http/openapi/sample.js';
import { WEBHOOK_EXAMPLES, WEBHOOK_SCHEMAS } from '../../src/http/openapi/webhooks.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is read loosely and asserted on.
type Json = any;

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'options', 'head', 'trace'];
const START = '/jelouapi/v1/external-support/{projectId}/conversations/start';

let h: Harness;
let doc: Json;
/** The app's validator: Fastify's own compiler with the app's Ajv options. */
let compile: (schema: Json) => ((value: unknown) => boolean) & { errors?: unknown };

beforeAll(async () => {
  const validating = Fastify({ ajv: AJV_OPTIONS });
  validating.post('/', { schema: { body: { type: 'object' } } }, async () => '');
  await validating.ready();
  const compiler = validating.validatorCompiler;
  if (compiler === undefined) throw new Error('Fastify set up no validator compiler');
  compile = (schema) =>
    compiler({ schema: structuredClone(schema), method: 'POST', url: '/', httpPart: 'body' }) as never;
  await validating.close();
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
  it('is an OpenAPI 3.1 document with info and paths', () => {
    expect(doc.openapi).toBe('3.1.0');
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
        // docs/channels.md puts the custom channel at /v1/custom-channel/{botId} and WhatsApp's at
        // /v1/channels/whatsapp/{botId}: routes of their own, not aliases of /jelouapi/v1 routes.
        expect(path, `${path} is under the /v1 alias prefix`).toMatch(
          /^\/v1\/(custom-channel|channels\/whatsapp)\//,
        );
        expect(doc.paths[`/jelouapi${path}`]).toBeUndefined();
      }
    }
  });

  it('hides itself, /docs and the assets of /docs', () => {
    expect(doc.paths['/openapi.json']).toBeUndefined();
    for (const path of Object.keys(doc.paths)) expect(path).not.toMatch(/^\/docs(\/|$)/);
  });

  it('has only schemas that are valid JSON Schema 2020-12, the dialect of OpenAPI 3.1', () => {
    // The OpenAPI 3.1 meta-schema takes any object as a Schema Object: compile each one.
    const ajv = new Ajv2020({ strict: true, validateFormats: false, allowUnionTypes: true });
    ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    const schemas = collectSchemas(doc);
    expect(schemas.length).toBeGreaterThan(100);
    for (const { where, schema } of schemas) {
      expect(() => ajv.compile(schema), where).not.toThrow();
    }
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

/** Every Schema Object of the document: request bodies, parameters, responses, webhooks. */
function collectSchemas(root: Json): Array<{ where: string; schema: Json }> {
  const out: Array<{ where: string; schema: Json }> = [];
  const visitOperation = (where: string, op: Json) => {
    for (const p of op.parameters ?? [])
      if (p.schema) out.push({ where: `${where} ${p.name}`, schema: p.schema });
    for (const [type, media] of Object.entries<Json>(op.requestBody?.content ?? {})) {
      if (media.schema) out.push({ where: `${where} body ${type}`, schema: media.schema });
    }
    for (const [status, response] of Object.entries<Json>(op.responses ?? {})) {
      for (const media of Object.values<Json>(response.content ?? {})) {
        if (media.schema) out.push({ where: `${where} ${status}`, schema: media.schema });
      }
      for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
        if (header.schema) out.push({ where: `${where} ${status} ${name}`, schema: header.schema });
      }
    }
  };
  for (const [path, item] of Object.entries<Json>(root.paths ?? {})) {
    for (const method of METHODS)
      if (item[method]) visitOperation(`${method.toUpperCase()} ${path}`, item[method]);
  }
  for (const [name, item] of Object.entries<Json>(root.webhooks ?? {})) {
    for (const method of METHODS) if (item[method]) visitOperation(`webhook ${name}`, item[method]);
  }
  return out;
}

/** The examples of a media object: `example`, or each value of `examples`. */
function examplesOf(media: Json): unknown[] {
  if (media.examples !== undefined) return Object.values<Json>(media.examples).map((e) => e.value);
  return 'example' in media ? [media.example] : [];
}

describe('examples', () => {
  function validate(schema: Json, value: unknown): unknown {
    const check = compile(schema);
    return check(structuredClone(value)) ? [] : check.errors;
  }

  it('every request body has an example that its schema accepts', () => {
    let checked = 0;
    for (const { path, method, op } of operations()) {
      const media = op.requestBody?.content?.['application/json'];
      if (media === undefined) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const examples = examplesOf(media);
      expect(examples.length, `${where} has no request example`).toBeGreaterThan(0);
      for (const example of examples) expect(validate(media.schema, example), where).toEqual([]);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('every response with a body has an example that its schema accepts', () => {
    for (const { path, method, op } of operations()) {
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        const media = response.content?.['application/json'];
        if (media === undefined) continue;
        const where = `${method.toUpperCase()} ${path} ${status}`;
        const examples = examplesOf(media);
        expect(examples.length, `${where} has no example`).toBeGreaterThan(0);
        for (const example of examples) expect(validate(media.schema, example), where).toEqual([]);
      }
    }
  });

  it('shows errors as the envelopes the server writes, with codes of their status', () => {
    for (const { path, method, op } of operations()) {
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        if (Number(status) < 400) continue;
        for (const example of examplesOf(response.content?.['application/json'] ?? {}) as Json[]) {
          const code = example.error.code as ErrorCode;
          const where = `${method.toUpperCase()} ${path} ${status} ${code}`;
          expect(Object.keys(example), where).toEqual([
            'message',
            'statusMessage',
            'status',
            'error',
            'validationError',
          ]);
          expect(CATALOGUE[code], where).toBeDefined();
          expect(example.message, where).toBe(CATALOGUE[code].message);
          expect(example.error.developerMessages, where).toEqual(CATALOGUE[code].developer);
          // A validation failure keeps its code whatever the route's status (docs/api.md §4.3's 400).
          if (code !== 'unprocessable_entity') expect(CATALOGUE[code].status, where).toBe(Number(status));
        }
      }
    }
    const start = doc.paths[START].post.responses;
    expect(Object.keys(start['404'].content['application/json'].examples)).toEqual([
      'bot_not_found',
      'user_not_found',
    ]);
    expect(start['422'].content['application/json'].example.validationError).toEqual({
      botId: ['is required'],
    });
  });

  it('would generate a valid body for any operation without a hand-written one', () => {
    // Routes added later get an example from their schema: each body schema here must yield one.
    for (const { path, method, op } of operations()) {
      const media = op.requestBody?.content?.['application/json'];
      if (media === undefined) continue;
      const generated = sampleOf(media.schema, { keys: [], operationPath: path });
      expect(validate(media.schema, generated), `${method.toUpperCase()} ${path}`).toEqual([]);
    }
  });

  it('writes realistic request bodies by hand, each for an operation that exists', () => {
    const keys = new Set(operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`));
    for (const key of Object.keys(REQUEST_BODIES)) expect(keys, `${key} is not an operation`).toContain(key);
    expect(doc.paths[START].post.requestBody.content['application/json'].example).toEqual(
      REQUEST_BODIES[`POST ${START}`],
    );
  });
});

describe('webhooks', () => {
  it('lists the three panel events and the http channel message', () => {
    expect(Object.keys(doc.webhooks)).toEqual([
      'conversation.start',
      'message',
      'conversation.close',
      'http channel message',
    ]);
    for (const [name, item] of Object.entries<Json>(doc.webhooks)) {
      const op = item.post;
      expect(op.summary, name).toBeTypeOf('string');
      const headers = op.parameters.map((p: Json) => p.name);
      expect(headers, name).toEqual(
        expect.arrayContaining(['X-Jelou-Signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']),
      );
      expect(Object.keys(op.responses), name).toContain('2XX');
    }
  });

  it('shows each body with the schema its builder is typed by, and an example that schema accepts', () => {
    for (const [name, schema] of Object.entries(WEBHOOK_SCHEMAS)) {
      const media = doc.webhooks[name].post.requestBody.content['application/json'];
      expect(media.schema, name).toEqual(JSON.parse(JSON.stringify(schema)));
      expect(media.example, name).toEqual(WEBHOOK_EXAMPLES[name as keyof typeof WEBHOOK_EXAMPLES]);
      expect(compile(schema)(media.example), name).toBe(true);
    }
    // The example is the builder's output, key order included (the wire format).
    expect(Object.keys(doc.webhooks.message.post.requestBody.content['application/json'].example)[0]).toBe(
      'field',
    );
  });

  it('rejects an event its builder could not make (the schemas are not loose)', () => {
    const check = (schema: Json, value: unknown) => compile(schema)(value);
    const start = conversationStartEvent({
      timestamp: 1,
      projectId: 'prj_1',
      roomId: 'room_1',
      user: { id: 'usr_1', names: 'Ana' },
      bot: { id: 'bot_1', name: 'Bot' },
      conversationId: 'conv_1',
    });
    expect(check(WEBHOOK_SCHEMAS['conversation.start'], start)).toBe(true);
    expect(check(WEBHOOK_SCHEMAS['conversation.start'], { ...start, extra: 1 })).toBe(false);
    const message = messageEvent({
      timestamp: 1,
      projectId: 'prj_1',
      roomId: 'room_1',
      user: { id: 'usr_1', names: 'Ana' },
      bot: { id: 'bot_1', name: 'Bot' },
      conversationId: 'conv_1',
      message: {
        id: 'msg_1',
        type: 'image',
        content: { url: 'https://example.com/a.png', mime_type: 'image/png' },
      },
    });
    expect(check(WEBHOOK_SCHEMAS.message, message)).toBe(true);
    expect(
      check(WEBHOOK_SCHEMAS.message, { ...message, value: { ...message.value, content: { body: 'x' } } }),
    ).toBe(false);
  });
});

describe('servers', () => {
  async function serversFor(headers: Record<string, string>, harness = h): Promise<Json> {
    const res = await harness.app.server.inject({ method: 'GET', url: '/openapi.json', headers });
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  it('names the host and scheme the reader used, and uses them in every curl command', async () => {
    const d = await serversFor({ host: 'docs.example.com:8443' });
    expect(d.servers).toEqual([
      {
        url: 'http://docs.example.com:8443',
        description: 'This server, as you reached it (management routes also under /platform/v1 and /v1)',
      },
    ]);
    const description = d.paths[START].post.description as string;
    expect(description).toContain(
      'curl -sS -X POST "http://docs.example.com:8443/jelouapi/v1/external-support/$PROJECT_ID/conversations/start"',
    );
    expect(description).toContain('-H "x-api-key: $RELEVO_API_KEY"');
    expect(d.info.description).toContain('http://docs.example.com:8443/openapi.json');
    // /docs loads the same document through Swagger UI's own URL.
    const ui = await h.app.server.inject({
      method: 'GET',
      url: '/docs/json',
      headers: { host: 'docs.example.com:8443' },
    });
    expect(ui.json().servers).toEqual(d.servers);
    expect(ui.headers.vary).toBe('host, x-forwarded-host, x-forwarded-proto');
  });

  it('documents the live event streams as text/event-stream, with a curl command that does not buffer', async () => {
    const d = await serversFor({ host: 'docs.example.com:8443' });
    const streams = [
      ['/jelouapi/v1/external-support/{projectId}/events/stream', '-H "x-api-key: $RELEVO_API_KEY"'],
      ['/admin/v1/projects/{projectId}/events/stream', '-H "authorization: Bearer $RELEVO_ADMIN_TOKEN"'],
    ] as const;
    for (const [path, auth] of streams) {
      const op = d.paths[path]?.get;
      expect(op, path).toBeDefined();
      const media = op.responses['200'].content['text/event-stream'];
      expect(media.schema.type).toBe('string');
      expect(media.example).toContain('\nevent: conversation.start\ndata: {"event":"conversation.start"');
      expect(op.description).toContain(
        '`id: <event id>`, `event: <event type>`, `data: <the webhook payload',
      );
      expect(op.description).toContain(
        `curl -sS -N -X GET "http://docs.example.com:8443${path.replace('{projectId}', '$PROJECT_ID')}"`,
      );
      expect(op.description).toContain(auth);
      expect(op.parameters).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'lastEventId', in: 'query' }),
          expect.objectContaining({ name: 'last-event-id', in: 'header' }),
        ]),
      );
    }
    const send =
      d.paths['/jelouapi/v1/external-support/{projectId}/conversations/{conversationId}/messages'].post;
    expect(send.tags).toEqual(['messages']);
    expect(send.description).toContain('--data');
  });

  it('ignores X-Forwarded-* from a client that is not a trusted proxy', async () => {
    const d = await serversFor({
      host: 'relevo.internal:8080',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
    });
    expect(d.servers[0].url).toBe('http://relevo.internal:8080');
  });

  it('honours X-Forwarded-Proto and -Host from a proxy of RELEVO_TRUST_PROXY', async () => {
    const behind = await createHarness({ RELEVO_TRUST_PROXY: '127.0.0.1' });
    try {
      const d = await serversFor(
        { host: 'relevo.internal:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' },
        behind,
      );
      expect(d.servers[0].url).toBe('https://api.example.com');
    } finally {
      await behind.close();
    }
  });

  it('falls back to a relative server rather than echo an odd Host header', async () => {
    const d = await serversFor({ host: 'a"b$(id)' });
    expect(d.servers).toEqual([{ url: '/', description: 'This server' }]);
    expect(JSON.stringify(d)).not.toContain('$(id)');
  });

  it('shows the admin Bearer token and the openssl signature where those routes need them', async () => {
    const d = await serversFor({ host: 'localhost:8080' });
    expect(d.paths['/admin/v1/projects'].post.description).toContain(
      '-H "authorization: Bearer $RELEVO_ADMIN_TOKEN"',
    );
    const send = d.paths['/jelouapi/v1/external-support/webhook'].post.description as string;
    expect(send).toContain(
      `SIGNATURE=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SIGNING_SECRET" -r | cut -d' ' -f1)`,
    );
    expect(send).toContain('-H "x-jelou-signature: sha256=$SIGNATURE"');
    expect(send).not.toContain('x-api-key');
    expect(d.paths['/v1/custom-channel/{botId}'].post.description).toContain('-hmac "$SIGNING_KEY"');
  });
});

describe('/docs', () => {
  async function page() {
    return h.app.server.inject({ method: 'GET', url: '/docs' });
  }

  it('is an HTML page for phones and desktops that loads the document', async () => {
    const res = await page();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toMatch(/<!doctype html>/i);
    expect(res.body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(res.body).toContain('<title>relevo API reference</title>');
    const init = await h.app.server.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    expect(init.body).toContain("resolveUrl('./json')");
    expect(init.body).toContain('"layout":"BaseLayout"');
  });

  it('loads every asset from this server, and each one is there', async () => {
    const { body } = await page();
    const urls = [...body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) {
      expect(url, url).toMatch(/^\/docs\/static\/[\w.-]+$/);
      const asset = await h.app.server.inject({ method: 'GET', url });
      expect(asset.statusCode, url).toBe(200);
    }
    expect(body).not.toMatch(/https?:\/\//i);
    expect(body).not.toMatch(/@import/i);
    // No inline script: the CSP below admits scripts from this server only.
    expect(body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
  });

  it('is served with a CSP that admits this server only, and no inline code', async () => {
    for (const url of ['/docs', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
      const res = await h.app.server.inject({ method: 'GET', url });
      const csp = String(res.headers['content-security-policy']);
      expect(csp, url).toContain("default-src 'none'");
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("style-src 'self'");
      expect(csp, url).toContain("connect-src 'self'");
      expect(csp, url).not.toContain('unsafe');
      expect(csp, url).not.toMatch(/https?:/);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
    }
  });

  it('has no route of the old page left and answers unknown assets with the 404 envelope', async () => {
    const res = await h.app.server.inject({ method: 'GET', url: '/docs/static/nope.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('route_not_found');
  });
});
