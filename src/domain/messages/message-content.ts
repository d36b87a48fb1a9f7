/**
 * Checks a message's `{ type, content }` against the one description of each type's content
 * (model/message-content.ts). By hand rather than by a schema union, so a refusal names the exact
 * field (`value.content.url`) instead of every branch of a oneOf.
 */
import type { TObject, TString } from '@sinclair/typebox';
import type { ValidationErrors } from '../../errors.js';
import {
  FIELD_MAX_CHARS,
  MESSAGE_CONTENT,
  MESSAGE_TYPES,
  MimeTypeField,
  UrlField,
} from '../../model/message-content.js';
import type { MessageType } from '../../model/types.js';

export interface MessageInput {
  readonly type: MessageType;
  readonly content: Record<string, string>;
}

function problem(field: TString, v: string): string | undefined {
  if (field === UrlField) {
    if (v.length > FIELD_MAX_CHARS) return `must be at most ${FIELD_MAX_CHARS} characters`;
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || u.protocol === 'http:' ? undefined : 'must be an http(s) URL';
    } catch {
      return 'must be an absolute http(s) URL';
    }
  }
  if (field === MimeTypeField) {
    return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(v) && v.length <= 255
      ? undefined
      : 'must be a MIME type such as image/png';
  }
  // Any other field is text, measured in code points as JSON Schema's maxLength is.
  const length = [...v].length;
  if (length === 0 && (field.minLength ?? 0) > 0) return 'must not be empty';
  const max = field.maxLength;
  return max !== undefined && length > max ? `must be at most ${max} characters` : undefined;
}

/**
 * Checks `{ type, content }` found at `path` (e.g. `value` or `message`); returns the message
 * when valid, or adds problems to `errors` and returns undefined.
 */
export function parseMessage(
  raw: unknown,
  path: string,
  errors: ValidationErrors,
  /** Other keys the caller reads itself (e.g. `id` in docs/api.md §4.10's `value`). */
  extraKeys: readonly string[] = [],
): MessageInput | undefined {
  const at = (p: string) => (path === '' ? p : `${path}.${p}`);
  const add = (p: string, msg: string) => {
    // Own properties only, defined rather than assigned: a field named `__proto__` or
    // `constructor` must be reported, not find (or replace) Object.prototype's member.
    if (!Object.hasOwn(errors, p)) {
      Object.defineProperty(errors, p, { value: [], enumerable: true, writable: true, configurable: true });
    }
    errors[p]?.push(msg);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    add(path || 'body', 'must be a JSON object');
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const type = obj.type;
  if (type === undefined) add(at('type'), 'is required');
  else if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
    add(at('type'), `must be one of: ${MESSAGE_TYPES.join(', ')}`);
  }
  const content = obj.content;
  if (content === undefined) {
    add(at('content'), 'is required');
    return undefined;
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    add(at('content'), 'must be a JSON object');
    return undefined;
  }
  // Own keys only: a name every object inherits (`toString`, `constructor`) is no message type
  // and no content field, and must be reported as such rather than slip through.
  if (typeof type !== 'string' || !Object.hasOwn(MESSAGE_CONTENT, type)) return undefined;
  const schema: TObject = MESSAGE_CONTENT[type as MessageType];
  const rules = schema.properties as Record<string, TString>;
  const required = new Set(schema.required ?? []);
  const out: Record<string, string> = {};
  let ok = true;
  for (const [name, field] of Object.entries(rules)) {
    const v = (content as Record<string, unknown>)[name];
    if (v === undefined) {
      if (required.has(name)) {
        add(at(`content.${name}`), 'is required');
        ok = false;
      }
      continue;
    }
    if (typeof v !== 'string') {
      add(at(`content.${name}`), 'must be a string');
      ok = false;
      continue;
    }
    const why = problem(field, v);
    if (why !== undefined) {
      add(at(`content.${name}`), why);
      ok = false;
      continue;
    }
    out[name] = v;
  }
  for (const name of Object.keys(content)) {
    if (!Object.hasOwn(rules, name)) {
      add(at(`content.${name}`), `is not a field of a ${type} message`);
      ok = false;
    }
  }
  for (const name of Object.keys(obj)) {
    if (name !== 'type' && name !== 'content' && !extraKeys.includes(name)) {
      add(at(name), 'is not a known field');
      ok = false;
    }
  }
  return ok ? { type: type as MessageType, content: out } : undefined;
}

/** A one-line text rendering of any message, for bots that read text and for logs. */
export function messageText(m: MessageInput): string {
  const c = m.content;
  return m.type === 'text' ? (c.body ?? '') : (c.caption ?? c.filename ?? '');
}
