/**
 * The schema of a rule bot's rules (see rule-bot.ts and docs/bots.md), and the one check every
 * way of setting them goes through: the admin API and the `relevo` command both call
 * `parseRules`, so a file the command accepts is exactly a body the API accepts, refused with
 * the same messages.
 *
 * The check runs on TypeBox's own validator rather than the HTTP layer's, because the command
 * has no HTTP layer; the route still declares the schema, which documents the body.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { type ValidationErrors, validationError } from '../../errors.js';
import { TEXT_MAX_CHARS } from '../../model/message-content.js';
import type { AssignmentType } from '../../model/types.js';
import type { BotRules } from './rule-bot.js';

/**
 * Every text the bot says is sent as a text message, so it has a text message's limit. The
 * validator counts UTF-16 code units, never fewer than the characters a message counts, so a
 * rule text always fits in a message.
 */
export const RULE_TEXT_MAX = TEXT_MAX_CHARS;
export const ANSWERS_MAX = 100;
export const KEYWORDS_MAX = 20;
export const KEYWORD_MAX = 100;
export const STEPS_MAX = 100;
export const STEP_NAME_MAX = 100;
/**
 * Rules at every limit come to about a million UTF-16 code units, which JSON may write with up to
 * 6 bytes each (\uXXXX escapes): a body this large must be accepted, whatever the server's
 * general body limit, or the API would refuse rules the command accepts.
 */
export const RULES_BODY_MAX_BYTES = 8 * 1024 * 1024;
export const ASSIGNMENT_TYPES: readonly AssignmentType[] = ['queue', 'operator', 'team'];

const Text = (description: string) => Type.String({ minLength: 1, maxLength: RULE_TEXT_MAX, description });

const Keywords = (description: string) =>
  Type.Array(
    Type.String({
      minLength: 1,
      maxLength: KEYWORD_MAX,
      description:
        'One word or several in sequence; matched as whole words, ignoring case, accents and punctuation',
    }),
    { minItems: 1, maxItems: KEYWORDS_MAX, description },
  );

const AssignmentRule = Type.Object(
  {
    // Literals rather than a plain `enum`: TypeBox's validator checks literals, not raw enums.
    type: Type.Union(
      ASSIGNMENT_TYPES.map((t) => Type.Literal(t)),
      { description: 'queue, operator or team; sent in conversation.start as given' },
    ),
    target: Type.String({ minLength: 1, description: 'Queue name or agent/team identifier' }),
  },
  { additionalProperties: false, description: 'Who in the panel should take the conversation' },
);

const Answer = Type.Object(
  {
    keywords: Keywords("Any of them in the user's message selects this answer"),
    reply: Text('What the bot says'),
  },
  { additionalProperties: false },
);

const Handoff = Type.Object(
  {
    keywords: Keywords("Any of them in the user's message gives the room to the panel"),
    reply: Type.Optional(Text('Said to the user before the panel takes over')),
    assignment: Type.Optional(AssignmentRule),
  },
  {
    additionalProperties: false,
    description:
      "Starts a conversation for the panel (conversation.start), with the user's message as initial_message",
  },
);

// A step name is matched against a close's `edge` as given. The pattern bounds its length in the
// schema itself (any other name is refused); the description repeats it, because OpenAPI 3.0
// cannot express a pattern on property names.
const STEP_NAME_PATTERN = `^[\\s\\S]{1,${STEP_NAME_MAX}}$`;
const Steps = Type.Record(
  Type.String({ pattern: STEP_NAME_PATTERN }),
  Text('What the bot says at this step'),
  {
    maxProperties: STEPS_MAX,
    additionalProperties: false,
    description: `Step name (1 to ${STEP_NAME_MAX} characters) → what the bot says when a close with an edge redirect names it`,
  },
);

export const BotRulesSchema = Type.Object(
  {
    greeting: Type.Optional(Text('Said when a room opens: a web chat starts, or a first message')),
    answers: Type.Optional(
      Type.Array(Answer, {
        maxItems: ANSWERS_MAX,
        description: 'Tried in order after the handoff rule; the first whose keywords match answers',
      }),
    ),
    handoff: Type.Optional(Handoff),
    fallback: Type.Optional(Text('Said when nothing matched')),
    steps: Type.Optional(Steps),
    welcomeBack: Type.Optional(Text('Said when the panel hands the room back without naming a known step')),
  },
  { additionalProperties: false, description: 'The rules of the built-in rule bot' },
);

/** A value the schema accepts is rules the bot can read: the compiler checks the two agree. */
export type RulesBody = Static<typeof BotRulesSchema>;
const asRules = (r: RulesBody): BotRules => r;

// ---------------------------------------------------------------------------------------------
// Errors, in the words of the HTTP layer's validation messages (field path → problems)
// ---------------------------------------------------------------------------------------------

/** `/answers/0/keywords` → `answers.0.keywords`; the root is `body`, as the HTTP layer says. */
function fieldOf(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.length === 0 ? 'body' : parts.join('.');
}

function parentOf(pointer: string): string {
  return fieldOf(pointer.slice(0, pointer.lastIndexOf('/')));
}

const typeNoun = (schema: TSchema): string => {
  const t = String(schema.type);
  return t === 'object' ? 'a JSON object' : t === 'array' ? 'an array' : `a ${t}`;
};

function describe(e: ValueError): [string, string] | undefined {
  const s = e.schema;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return [fieldOf(e.path), 'is required'];
    case ValueErrorType.ObjectAdditionalProperties:
      // The validator hands back a copy of the schema, so the steps record is known by its pattern.
      if (s.patternProperties?.[STEP_NAME_PATTERN] !== undefined) {
        return [parentOf(e.path), `names must be 1 to ${STEP_NAME_MAX} characters`];
      }
      return [fieldOf(e.path), 'is not a known field'];
    case ValueErrorType.Object:
    case ValueErrorType.Array:
    case ValueErrorType.String:
      // A missing required field is reported once, as "is required", not also as a wrong type;
      // a missing body has no such report, so it is the wrong type.
      if (e.value === undefined && e.path !== '') return undefined;
      return [fieldOf(e.path), `must be ${typeNoun(s)}`];
    case ValueErrorType.StringMinLength:
      return [
        fieldOf(e.path),
        s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`,
      ];
    case ValueErrorType.StringMaxLength:
      return [fieldOf(e.path), `must be at most ${s.maxLength} characters`];
    case ValueErrorType.ArrayMinItems:
      return [fieldOf(e.path), `must have at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`];
    case ValueErrorType.ArrayMaxItems:
      return [fieldOf(e.path), `must have at most ${s.maxItems} items`];
    case ValueErrorType.ObjectMaxProperties:
      return [fieldOf(e.path), `must have at most ${s.maxProperties} entries`];
    case ValueErrorType.Union: {
      if (e.value === undefined) return undefined;
      const literals = (s.anyOf as TSchema[] | undefined)?.map((b) => b.const);
      return [
        fieldOf(e.path),
        literals?.every((l) => typeof l === 'string')
          ? `must be one of: ${literals.join(', ')}`
          : 'is invalid',
      ];
    }
    default:
      return [fieldOf(e.path), 'is invalid'];
  }
}

/** A keyword made only of punctuation or spaces could never match: matching ignores them. */
const HAS_WORD = /[\p{L}\p{N}]/u;

function keywordProblems(rules: BotRules, out: ValidationErrors): void {
  const check = (field: string, keywords: readonly string[]) => {
    keywords.forEach((k, i) => {
      if (!HAS_WORD.test(k)) {
        out[`${field}.${i}`] = [
          'must contain a letter or a digit (punctuation and spaces are ignored when matching)',
        ];
      }
    });
  };
  rules.answers?.forEach((a, i) => {
    check(`answers.${i}.keywords`, a.keywords);
  });
  if (rules.handoff !== undefined) check('handoff.keywords', rules.handoff.keywords);
}

/** What is wrong with `value` as rules, field by field; empty when nothing is. */
export function rulesProblems(value: unknown): ValidationErrors {
  // No prototype: a field literally named `__proto__` must be reported, not become one.
  const out = Object.create(null) as ValidationErrors;
  for (const e of Value.Errors(BotRulesSchema, value)) {
    const d = describe(e);
    if (d === undefined) continue;
    const [field, problem] = d;
    const list = out[field] ?? [];
    if (!list.includes(problem)) list.push(problem);
    out[field] = list;
  }
  if (Object.keys(out).length === 0) keywordProblems(value as BotRules, out);
  return out;
}

/** `value` as rules, or the 422 validation error naming every problem. */
export function parseRules(value: unknown): BotRules {
  const problems = rulesProblems(value);
  if (Object.keys(problems).length > 0) throw validationError(problems);
  return asRules(value as RulesBody);
}
