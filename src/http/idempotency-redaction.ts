/**
 * A secret is shown once: what an idempotent replay leaves out of a stored answer (see
 * idempotency.ts), and which answers can hand one out.
 */
/**
 * Fields that hand out a secret, wherever they appear in relevo's own part of an answer: the
 * credentials of a new project or credential, an integration's signingSecret (§4.1, §4.5), a
 * channel's signingKey, a web chat session token. Named here rather than per route, so that a new route
 * answering one of them is covered without anyone remembering to opt in.
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'apiKey',
  'clientSecret',
  'signingSecret',
  'signingKey',
  'sessionToken',
]);
/** A field inside an object the schema leaves open (metadata, an event's payload): the client's. */
const CLIENT_DATA = Symbol('client data');

/**
 * The schema of field `name` of an object described by `schema` (its branches too); CLIENT_DATA
 * when the object is open to any field and does not declare this one; undefined when nothing is
 * known (no schema, or a field the schema does not mention: checked by name, to be safe).
 */
function fieldSchema(schema: unknown, name: string): unknown {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Record<string, unknown>;
  const properties = s.properties as Record<string, unknown> | undefined;
  if (properties !== undefined && Object.hasOwn(properties, name)) return properties[name];
  for (const k of ['anyOf', 'oneOf', 'allOf']) {
    for (const branch of Array.isArray(s[k]) ? (s[k] as unknown[]) : []) {
      const found = fieldSchema(branch, name);
      if (found !== undefined) return found;
    }
  }
  return s.additionalProperties === true ? CLIENT_DATA : undefined;
}

/** Each secret field's name as it appears in JSON text (relevo's serialiser escapes no letter). */
const SECRET_KEYS = [...SECRET_FIELDS].map((name) => JSON.stringify(name));

/**
 * The answer as it may be kept for 24 h: every string in a SECRET_FIELDS field set to null, and
 * the JSON paths of those fields (`data.signingSecret`). A replay is for a client that lost the
 * first answer; handing it the secret again would make "shown once" false for a whole day and
 * put the secret in the idempotency table. The rest of the answer is replayed as it was, so the
 * client still learns what was created (and can regenerate the secret, or mint another
 * credential); null rather than a placeholder string, so that nobody stores a placeholder as a
 * secret without noticing.
 *
 * Such a field is matched by name anywhere in relevo's own answer, but not inside an object the
 * route's schema leaves open to any field (`schema`, the answer's): that is the client's data
 * echoed back — a retried delivery's payload, with the metadata the panel sent — and a field
 * there that happens to be called `apiKey` is replayed as it was. The schema only narrows; where
 * it says nothing (answers are pre-serialised, so it is documentation, not a filter), names
 * decide. An answer without a redacted field keeps its exact bytes, and one that does not even
 * contain such a name (start conversation, the benchmarked route) is not parsed.
 */
export function redactSecrets(body: string, schema?: unknown): { body: string; redacted: string[] } {
  const redacted: string[] = [];
  if (!SECRET_KEYS.some((key) => body.includes(key))) return { body, redacted };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { body, redacted };
  }
  const walk = (value: unknown, guide: unknown, path: string): unknown => {
    if (Array.isArray(value)) {
      const items = (guide as { items?: unknown } | undefined)?.items;
      return value.map((v, i) => walk(v, items, `${path}[${i}]`));
    }
    if (typeof value !== 'object' || value === null) return value;
    // No prototype: a field named `__proto__` stays an ordinary field.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [name, v] of Object.entries(value)) {
      const at = path === '' ? name : `${path}.${name}`;
      const field = fieldSchema(guide, name);
      if (field === CLIENT_DATA) {
        out[name] = v;
      } else if (SECRET_FIELDS.has(name) && typeof v === 'string') {
        out[name] = null;
        redacted.push(at);
      } else {
        out[name] = walk(v, field, at);
      }
    }
    return out;
  };
  const cleaned = walk(parsed, schema, '');
  return redacted.length === 0 ? { body, redacted } : { body: JSON.stringify(cleaned), redacted };
}

/** Whether an answer's schema has a field that hands out a secret (SECRET_FIELDS). */
export function hasSecretField(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const s = schema as Record<string, unknown>;
  const properties = (s.properties ?? {}) as Record<string, unknown>;
  if (Object.keys(properties).some((name) => SECRET_FIELDS.has(name))) return true;
  return [
    ...Object.values(properties),
    s.items,
    ...['anyOf', 'oneOf', 'allOf'].flatMap((k) => (Array.isArray(s[k]) ? (s[k] as unknown[]) : [])),
  ].some(hasSecretField);
}
