/**
 * The built-in rule bot: a greeting, keyword answers, and a handoff rule that gives the room to
 * the panel. Pure: it reads the rules and the user's text and says what to do; the caller stores
 * and sends. Keywords match whole words, ignoring case and accents ("Humano" matches "humano").
 */
import type { Assignment } from '../../model/types.js';
import type { BotTurn } from '../engine.js';

export interface KeywordAnswer {
  readonly keywords: readonly string[];
  readonly reply: string;
}

export interface BotRules {
  /** Sent when a room opens (a web chat starts, or a user's first message). */
  readonly greeting?: string | undefined;
  readonly answers?: readonly KeywordAnswer[] | undefined;
  readonly handoff?:
    | {
        readonly keywords: readonly string[];
        /** Said to the user before the panel takes over. */
        readonly reply?: string | undefined;
        readonly assignment?: Assignment | undefined;
      }
    | undefined;
  /** Said when nothing matched. */
  readonly fallback?: string | undefined;
  /** Named steps a close with an `edge` redirect can hand the room back to: step → what the bot says. */
  readonly steps?: Readonly<Record<string, string>> | undefined;
  /** Said when the room comes back to the bot without a known step. */
  readonly welcomeBack?: string | undefined;
}

/** What a bot does when none is configured: enough to reach a human from any channel. */
export const DEFAULT_RULES: BotRules = {
  greeting: 'Hi! I am a virtual assistant. Type "human" at any time to talk to a person.',
  handoff: {
    keywords: ['human', 'agent', 'person', 'humano', 'agente', 'pessoa'],
    reply: 'Connecting you to a person…',
  },
  fallback: 'Sorry, I did not understand. Type "human" to talk to a person.',
  welcomeBack: 'You are back with the virtual assistant. How can I help?',
};

function fold(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

function matches(words: readonly string[], keywords: readonly string[]): boolean {
  return keywords.some((k) => {
    const kw = fold(k);
    if (kw.length === 0) return false;
    // A keyword of several words matches them in sequence.
    for (let i = 0; i + kw.length <= words.length; i++) {
      if (kw.every((w, j) => words[i + j] === w)) return true;
    }
    return false;
  });
}

export function onUserText(rules: BotRules, text: string): BotTurn {
  const words = fold(text);
  if (rules.handoff !== undefined && matches(words, rules.handoff.keywords)) {
    return {
      replies: rules.handoff.reply ? [rules.handoff.reply] : [],
      handoff: { assignment: rules.handoff.assignment },
    };
  }
  for (const a of rules.answers ?? []) {
    if (matches(words, a.keywords)) return { replies: [a.reply] };
  }
  return { replies: rules.fallback ? [rules.fallback] : [] };
}

export function onRoomOpened(rules: BotRules): BotTurn {
  return { replies: rules.greeting ? [rules.greeting] : [] };
}

/** The panel closed the conversation; `edge` names the step where the bot resumes. */
export function onHandBack(rules: BotRules, edge: string | undefined): BotTurn {
  // Own keys only: an edge named `constructor` or `toString` must not find Object's methods.
  const steps = rules.steps;
  const step =
    edge !== undefined && steps !== undefined && Object.hasOwn(steps, edge) ? steps[edge] : undefined;
  if (step !== undefined) return { replies: [step] };
  return { replies: rules.welcomeBack ? [rules.welcomeBack] : [] };
}
