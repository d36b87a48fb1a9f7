/**
 * A value that satisfies a JSON schema of the OpenAPI document, for operations and fields that
 * have no example written by hand. It prefers what the schema itself says (`examples`, `const`,
 * `enum`, `default`), then a plausible value for a well-known field name (ids look like relevo's
 * ids), then the type's simplest valid value. Every optional property is included, so a reader
 * sees the whole shape. A test validates each result with the app's own validator.
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON schemas are read loosely here.
type Schema = any;

/** relevo ids are `<prefix>_<26 characters>`; one fixed, valid-looking suffix per prefix. */
export function sampleId(prefix: string): string {
  return `${prefix}_01kf3q8t2m5x7c9v4b6n8r0w2y`;
}

export const SAMPLE_TIME = '2026-01-15T10:30:00.000Z';

/** Which id an `id` property holds, by the nearest meaningful ancestor key. */
const ID_BY_ANCESTOR: Record<string, string> = {
  attempts: 'att',
  credentials: 'cred',
  User: 'usr',
  user: 'usr',
  contact: 'usr',
  Bot: 'bot',
  bot: 'bot',
  conversation: 'conv',
  message: 'msg',
};

/** Which id an `id` property holds, by the last collection of the operation's path. */
const ID_BY_COLLECTION: Record<string, string> = {
  deliveries: 'evt',
  credentials: 'cred',
  bots: 'bot',
  users: 'usr',
  projects: 'prj',
  messages: 'msg',
  conversations: 'conv',
};

const BY_NAME: Record<string, unknown> = {
  projectId: sampleId('prj'),
  brainId: sampleId('prj'),
  botId: sampleId('bot'),
  bot_id: sampleId('bot'),
  userId: sampleId('usr'),
  user_id: sampleId('usr'),
  conversationId: sampleId('conv'),
  _id: sampleId('conv'),
  roomId: sampleId('room'),
  room_id: sampleId('room'),
  messageId: sampleId('msg'),
  credentialId: sampleId('cred'),
  project_id: sampleId('prj'),
  clientId: 'rlvc_01kf3q8t2m5x7c9v4b6n8r0w2z',
  // The shapes of real secrets (credential-secrets.ts), visibly not one.
  clientSecret: 'example-client-secret'.padEnd(43, '0'),
  apiKey: `rlvk_01kf3q8t2m5x7c9v4b6n8r0w2z_${'example-api-key'.padEnd(43, '0')}`,
  signingSecret: '5e3c8f1a7d2b9e4c6f0a3d8b1e7c5f2a9d4b6e8c1f3a7d5b2e9c4f6a8d0b3e7c',
  signingKey: '9b2e7c4f1a8d3e6c0f5a2d9b4e7c1f8a3d6b0e5c2f9a4d7b1e8c3f6a0d5b2e9c',
  webhookUrl: 'https://panel.example.com/jelou/events',
  names: 'Maria Silva',
  name: 'Helper Bot',
  referenceId: 'customer-8812',
  target: 'SUPPORT',
  reference_id: 'customer-8812',
  url: 'https://cdn.example.com/media/label.png',
  mime_type: 'image/png',
  body: 'Hello, how can I help you?',
  lastError: 'HTTP 503',
  error: 'HTTP 503',
  responseBody: 'upstream unavailable',
  // The last page.
  nextCursor: null,
};

interface Context {
  /** Property names from the root down to this value (`[]` for array items). */
  readonly keys: readonly string[];
  /** The operation's path, for `id` properties with no telling ancestor. */
  readonly operationPath: string;
}

function idFor(ctx: Context): string {
  for (let i = ctx.keys.length - 2; i >= 0; i--) {
    const prefix = ID_BY_ANCESTOR[ctx.keys[i] ?? ''];
    if (prefix !== undefined) return sampleId(prefix);
  }
  const prefix = ID_BY_COLLECTION[lastCollection(ctx.operationPath) ?? ''];
  return sampleId(prefix ?? 'int');
}

/** The last path segment that names one of relevo's collections, e.g. `bots`. */
function lastCollection(operationPath: string): string | undefined {
  const segments = operationPath.split('/').filter((s) => s !== '' && !s.startsWith('{'));
  return segments.reverse().find((s) => Object.hasOwn(ID_BY_COLLECTION, s));
}

function fits(value: unknown, schema: Schema): boolean {
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches)) return branches.some((b: Schema) => fits(value, b));
  if (value === null) return typesOf(schema).includes('null');
  if (typeof value === 'string') {
    if (!typesOf(schema).includes('string')) return false;
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return false;
    const length = [...value].length;
    return length >= (schema.minLength ?? 0) && length <= (schema.maxLength ?? Number.POSITIVE_INFINITY);
  }
  return false;
}

function typesOf(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  return typeof schema.type === 'string' ? [schema.type] : [];
}

export function sampleOf(schema: Schema, ctx: Context): unknown {
  if (schema === true || schema === undefined || schema === null) return {};
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ('example' in schema) return schema.example;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('default' in schema) return schema.default;
  const name = ctx.keys.at(-1) ?? '';
  if (name === 'name' && lastCollection(ctx.operationPath) === 'projects' && fits('Acme', schema))
    return 'Acme';
  if (Object.hasOwn(BY_NAME, name) && fits(BY_NAME[name], schema)) return BY_NAME[name];
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches) && branches.length > 0) {
    // The first branch that is not `null`: a nullable field shows its value.
    const branch = branches.find((b: Schema) => !typesOf(b).every((t) => t === 'null')) ?? branches[0];
    return sampleOf(branch, ctx);
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((s: Schema) => sampleOf(s, ctx)));
  }

  if (name === 'id' && fits('x', schema)) return idFor(ctx);

  const type = typesOf(schema).find((t) => t !== 'null') ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries<Schema>(schema.properties ?? {})) {
        out[key] = sampleOf(sub, { ...ctx, keys: [...ctx.keys, key] });
      }
      return out;
    }
    case 'array': {
      const item = sampleOf(schema.items ?? {}, { ...ctx, keys: [...ctx.keys, '[]'] });
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => item);
    }
    case 'string':
      // An array's item is named after its array: `keywords` items read `keywords`.
      return sampleString(schema, name === '[]' ? (ctx.keys.at(-2) ?? '') : name);
    case 'integer':
    case 'number':
      return schema.minimum ?? (name.endsWith('Ms') ? 12 : 1);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

function sampleString(schema: Schema, name: string): string {
  if (schema.format === 'date-time') return SAMPLE_TIME;
  if (schema.format === 'uri' || schema.format === 'url') return 'https://example.com/';
  const base = name === '' ? 'text' : name;
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Number.POSITIVE_INFINITY;
  return base.padEnd(min, 'x').slice(0, max);
}
