/**
 * A bot's rules (docs/bots.md, "The rules"): the fields most bots set — greeting, fallback,
 * welcome back and the handoff to a person — as inputs, and the whole object as JSON for the
 * rest (answers by keyword, steps). The JSON text is the one source: each input reads its field
 * from it and writes it back, so the two never disagree. The server's validation messages show
 * under the input of the field they concern, and every one is listed by path under the editor.
 */
import { useState } from 'preact/hooks';
import { useAction } from '../action';
import { ErrorNote, Loading } from '../components/states';
import { useApi } from '../context';
import { useLoad } from '../hooks';

type Json = Record<string, unknown>;
const ASSIGNMENT_TYPES = ['queue', 'operator', 'team'] as const;

/** Where a JSON.parse error is, as "line L, column C", from the position the engine gives. */
function jsonProblem(text: string, e: unknown): string {
  const message = e instanceof Error ? e.message : 'invalid JSON';
  const at = /position (\d+)/.exec(message);
  if (at?.[1] === undefined) return `This is not valid JSON: ${message}`;
  const before = text.slice(0, Number(at[1])).split('\n');
  return `This is not valid JSON at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}: ${message}`;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text as a JSON object, or undefined while it is not one (the inputs wait for it). */
function asObject(text: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * `rules` with `value` at `path` (one or two keys deep); an empty value removes the field — an
 * absent text means "say nothing" (docs/bots.md) — and an object left empty goes with it.
 */
function withField(rules: Json, path: readonly string[], value: unknown): Json {
  const empty = value === undefined || value === '';
  const [head, ...tail] = path;
  if (head === undefined) return rules;
  const next: Json = { ...rules };
  if (tail.length === 0) {
    if (empty) delete next[head];
    else next[head] = value;
    return next;
  }
  const inner = withField(isObject(rules[head]) ? rules[head] : {}, tail, value);
  if (Object.keys(inner).length === 0) delete next[head];
  else next[head] = inner;
  return next;
}

/** "agent, human, talk to a person" → its keywords; a comma only separates words when matching. */
const splitKeywords = (text: string): string[] =>
  text
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');

/** The problems the server gave for `field` or anything under it, each with what it concerns. */
function problemsAt(invalid: Readonly<Record<string, string[]>>, field: string): string[] {
  const out: string[] = [];
  for (const [path, messages] of Object.entries(invalid)) {
    if (path === field) out.push(...messages);
    else if (path.startsWith(`${field}.`)) {
      const rest = path.slice(field.length + 1);
      // handoff.keywords.2 is the third keyword, as a person counts.
      const which = /^\d+$/.test(rest) ? `keyword ${Number(rest) + 1}` : rest;
      out.push(...messages.map((m) => `${which}: ${m}`));
    }
  }
  return out;
}

function FieldProblems({ id, problems }: { readonly id: string; readonly problems: readonly string[] }) {
  if (problems.length === 0) return null;
  return (
    <span id={id} class="field-error">
      {problems.join('; ')}
    </span>
  );
}

/** A labelled input of one rules field, marked invalid with the server's messages under it. */
function RuleInput({
  field,
  label,
  hint,
  value,
  multiline,
  disabled,
  invalid,
  onChange,
  onBlur,
}: {
  readonly field: string;
  readonly label: string;
  readonly hint: string;
  readonly value: string;
  readonly multiline?: boolean;
  readonly disabled: boolean;
  readonly invalid: Readonly<Record<string, string[]>>;
  readonly onChange: (value: string) => void;
  readonly onBlur?: () => void;
}) {
  const id = `rules-${field.replace(/\./g, '-')}`;
  const problems = problemsAt(invalid, field);
  const describedBy = problems.length > 0 ? `${id}-hint ${id}-error` : `${id}-hint`;
  const common = {
    id,
    class: 'input',
    value,
    disabled,
    'aria-invalid': problems.length > 0,
    'aria-describedby': describedBy,
    onBlur,
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {multiline === true ? (
        <textarea {...common} rows={2} onInput={(e) => onChange(e.currentTarget.value)} />
      ) : (
        <input {...common} type="text" onInput={(e) => onChange(e.currentTarget.value)} />
      )}
      <span id={`${id}-hint`} class="hint">
        {hint}
      </span>
      <FieldProblems id={`${id}-error`} problems={problems} />
    </div>
  );
}

export function RulesSection({ base }: { readonly base: string }) {
  const api = useApi();
  const rules = useLoad(
    () => api.get<{ rules: unknown; isDefault: boolean }>(`${base}/rules`),
    `${base}/rules`,
  );
  const [text, setText] = useState<string | undefined>(undefined);
  // The keywords as typed, while they are typed: "agent, " must keep its comma until the next
  // keyword comes, though the JSON already has ["agent"].
  const [keywordsDraft, setKeywordsDraft] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const action = useAction();
  const { busy, error, invalid } = action;

  if (rules.loading) return <Loading what="the rules" />;
  if (rules.value === undefined)
    return <ErrorNote>{rules.error ?? 'The rules could not be loaded.'}</ErrorNote>;
  const shown = text ?? JSON.stringify(rules.value.rules, null, 2);
  const current = asObject(shown);
  const problems = Object.entries(invalid);
  const handoff = isObject(current?.handoff) ? current.handoff : {};
  const assignment = isObject(handoff.assignment) ? handoff.assignment : {};
  const keywords = Array.isArray(handoff.keywords)
    ? handoff.keywords.filter((k) => typeof k === 'string')
    : [];

  const edit = (path: readonly string[], value: unknown) => {
    if (current === undefined) return;
    setText(JSON.stringify(withField(current, path, value), null, 2));
  };
  const run = (work: () => Promise<void>) => {
    setSaved(undefined);
    return action.run(work);
  };
  const save = () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(shown);
    } catch (e) {
      setSaved(undefined);
      action.fail(jsonProblem(shown, e));
      return;
    }
    void run(async () => {
      const stored = await api.put<unknown>(`${base}/rules`, parsed);
      rules.set({ rules: stored, isDefault: false });
      setText(undefined);
      setKeywordsDraft(undefined);
      setSaved('Saved: the bot answers with these rules from its next message.');
    });
  };
  const fieldProps = { disabled: current === undefined || busy, invalid };

  return (
    <section aria-labelledby="rules" class="panel">
      <h2 id="rules">Rules</h2>
      <p>
        What the rules engine says: greeting, answers by keyword, the handoff to a person, and what happens
        after (docs/bots.md, "The rules").{' '}
        {rules.value.isDefault ? 'This bot runs on the default rules.' : 'This bot has its own rules.'}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save();
        }}
      >
        <fieldset class="rules-fields" aria-describedby="rules-fields-note">
          <legend>The usual fields</legend>
          <p id="rules-fields-note" class="hint">
            {current === undefined
              ? 'These fields wait for the JSON below to be a valid object again.'
              : 'Each one changes the JSON below. Leave a text empty and the bot says nothing then.'}
          </p>
          <RuleInput
            {...fieldProps}
            field="greeting"
            label="Greeting"
            hint="Said when a chat opens, or before the answer to a user's first message."
            multiline
            value={str(current?.greeting)}
            onChange={(v) => edit(['greeting'], v)}
          />
          <RuleInput
            {...fieldProps}
            field="handoff.keywords"
            label="Handoff keywords"
            hint="Separated by commas. Any of them in a message gives the chat to a person."
            value={keywordsDraft ?? keywords.join(', ')}
            onChange={(v) => {
              setKeywordsDraft(v);
              const list = splitKeywords(v);
              edit(['handoff', 'keywords'], list.length > 0 ? list : undefined);
            }}
            onBlur={() => setKeywordsDraft(undefined)}
          />
          <RuleInput
            {...fieldProps}
            field="handoff.reply"
            label="Handoff reply"
            hint="Said to the user before the person takes over."
            value={str(handoff.reply)}
            onChange={(v) => edit(['handoff', 'reply'], v)}
          />
          <div class="rules-assignment">
            <div class="field">
              <label for="rules-handoff-assignment-type">Assign to</label>
              <select
                id="rules-handoff-assignment-type"
                class="input"
                disabled={fieldProps.disabled}
                value={str(assignment.type)}
                aria-invalid={problemsAt(invalid, 'handoff.assignment').length > 0}
                aria-describedby="rules-handoff-assignment-error"
                onChange={(e) => {
                  const type = e.currentTarget.value;
                  edit(
                    ['handoff', 'assignment'],
                    type === '' ? undefined : { type, target: str(assignment.target) },
                  );
                }}
              >
                <option value="">Anyone (no assignment)</option>
                {ASSIGNMENT_TYPES.map((t) => (
                  <option key={t} value={t}>
                    A{t === 'operator' ? 'n' : ''} {t}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="rules-handoff-assignment-target">Queue, operator or team</label>
              <input
                id="rules-handoff-assignment-target"
                class="input"
                type="text"
                disabled={fieldProps.disabled || str(assignment.type) === ''}
                value={str(assignment.target)}
                aria-invalid={problemsAt(invalid, 'handoff.assignment').length > 0}
                aria-describedby="rules-handoff-assignment-error"
                onInput={(e) => edit(['handoff', 'assignment', 'target'], e.currentTarget.value)}
              />
            </div>
          </div>
          <FieldProblems
            id="rules-handoff-assignment-error"
            problems={problemsAt(invalid, 'handoff.assignment')}
          />
          <RuleInput
            {...fieldProps}
            field="fallback"
            label="Fallback"
            hint="Said when nothing in a message matched."
            multiline
            value={str(current?.fallback)}
            onChange={(v) => edit(['fallback'], v)}
          />
          <RuleInput
            {...fieldProps}
            field="welcomeBack"
            label="Welcome back"
            hint="Said when a person hands the chat back without naming a step."
            multiline
            value={str(current?.welcomeBack)}
            onChange={(v) => edit(['welcomeBack'], v)}
          />
        </fieldset>
        <div class="field">
          <label for="rules-json">Rules (JSON)</label>
          <span id="rules-json-hint" class="hint">
            Everything, answers by keyword and steps included.
          </span>
          <textarea
            id="rules-json"
            class="input mono rules-editor"
            rows={18}
            spellcheck={false}
            value={shown}
            aria-invalid={error !== undefined}
            aria-describedby="rules-json-hint rules-problems"
            onInput={(e) => {
              setKeywordsDraft(undefined);
              setText(e.currentTarget.value);
            }}
          />
        </div>
        <div id="rules-problems">
          {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
          {problems.length > 0 ? (
            <ul class="problems" aria-label="Problems in the rules">
              {problems.map(([path, messages]) => (
                <li key={path}>
                  <code>{path}</code>: {messages.join('; ')}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <div class="toolbar">
          <button type="submit" class="button button-primary" disabled={busy}>
            Save the rules
          </button>
          {!rules.value.isDefault ? (
            <button
              type="button"
              class="button"
              disabled={busy}
              onClick={() =>
                void run(async () => {
                  rules.set(await api.delete<{ rules: unknown; isDefault: boolean }>(`${base}/rules`));
                  setText(undefined);
                  setKeywordsDraft(undefined);
                  setSaved('Back on the default rules.');
                })
              }
            >
              Back to the default rules
            </button>
          ) : null}
          {saved !== undefined ? (
            <span class="card-meta" role="status">
              {saved}
            </span>
          ) : null}
        </div>
      </form>
    </section>
  );
}
