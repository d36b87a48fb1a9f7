/**
 * The rule bot's decisions, without storage: how keywords match, which rule wins, and what it
 * says on opening, on no match and on hand-back. A property test feeds it arbitrary text and
 * arbitrary rules that the admin API would accept.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BotRules,
  DEFAULT_RULES,
  onHandBack,
  onRoomOpened,
  onUserText,
} from '../../src/bots/rules/rule-bot.js';
import {
  ANSWERS_MAX,
  KEYWORD_MAX,
  KEYWORDS_MAX,
  RULE_TEXT_MAX,
  rulesProblems,
  STEP_NAME_MAX,
} from '../../src/bots/rules/rules-schema.js';

const answers = (...pairs: Array<[string[], string]>): BotRules => ({
  answers: pairs.map(([keywords, reply]) => ({ keywords, reply })),
  fallback: 'FALLBACK',
});

/** What the bot says to `text`, or HANDOFF when it gives the room to the panel. */
function say(rules: BotRules, text: string): string[] | 'HANDOFF' {
  const turn = onUserText(rules, text);
  return turn.handoff === undefined ? [...turn.replies] : 'HANDOFF';
}

describe('keyword matching', () => {
  const rules = answers(
    [['price'], 'PRICE'],
    [['preço'], 'PRECO'],
    [['opening hours'], 'HOURS'],
    [['e-mail'], 'EMAIL'],
  );

  it.each([
    ['price', 'PRICE'],
    ['PRICE', 'PRICE'],
    ['What is the PrIcE?', 'PRICE'],
    ['qual o preço', 'PRECO'],
    ['QUAL O PREÇO', 'PRECO'],
    ['qual o preco', 'PRECO'],
    // Decomposed: c + combining cedilla, e + combining circumflex.
    ['qual o prec\u0327o\u0302', 'PRECO'],
  ])('ignores case and accents: %j → %s', (text, reply) => {
    expect(say(rules, text)).toEqual([reply]);
  });

  it('an accented keyword matches the text without accents, and the other way round', () => {
    const accented = answers([['Atención'], 'A']);
    expect(say(accented, 'atencion por favor')).toEqual(['A']);
    const plain = answers([['atencion'], 'A']);
    expect(say(plain, 'ATENCIÓN!')).toEqual(['A']);
  });

  it.each(['prices', 'priceless', 'overprice', 'sprice', 'price2'])(
    'matches whole words only: %j',
    (text) => {
      expect(say(rules, text)).toEqual(['FALLBACK']);
    },
  );

  it.each([
    ['price?', 'PRICE'],
    ['¿price¿', 'PRICE'],
    ['(price)', 'PRICE'],
    ['price!!!', 'PRICE'],
    ['"price",', 'PRICE'],
    ['la-price-list', 'PRICE'],
    ['price\nplease', 'PRICE'],
    ['price\tplease', 'PRICE'],
  ])('punctuation and spacing separate words: %j', (text, reply) => {
    expect(say(rules, text)).toEqual([reply]);
  });

  it('a keyword of several words matches them in sequence, whatever separates them', () => {
    expect(say(rules, 'What are your opening hours?')).toEqual(['HOURS']);
    expect(say(rules, 'OPENING, hours')).toEqual(['HOURS']);
    expect(say(rules, 'opening   hours')).toEqual(['HOURS']);
    expect(say(rules, 'opening-hours')).toEqual(['HOURS']);
    expect(say(rules, 'hours opening')).toEqual(['FALLBACK']);
    expect(say(rules, 'opening the hours')).toEqual(['FALLBACK']);
    expect(say(rules, 'opening')).toEqual(['FALLBACK']);
    expect(say(rules, 'reopening hours')).toEqual(['FALLBACK']);
  });

  it("a keyword's own punctuation separates its words too", () => {
    expect(say(rules, 'my e-mail')).toEqual(['EMAIL']);
    expect(say(rules, 'my e mail')).toEqual(['EMAIL']);
    expect(say(rules, 'my email')).toEqual(['FALLBACK']);
  });

  it('a keyword with surrounding spaces or in capitals still matches', () => {
    expect(say(answers([['  Opening   HOURS '], 'H']), 'opening hours')).toEqual(['H']);
  });

  it('digits are words, and scripts beyond Latin match as well', () => {
    const r = answers([['24h'], 'DAY'], [['价格'], 'ZH'], [['цена'], 'RU']);
    expect(say(r, 'open 24h?')).toEqual(['DAY']);
    expect(say(r, '价格')).toEqual(['ZH']);
    expect(say(r, 'Какая ЦЕНА?')).toEqual(['RU']);
  });

  it('a keyword with no letter or digit never matches', () => {
    expect(say(answers([['!!!'], 'BANG']), '!!!')).toEqual(['FALLBACK']);
  });

  it('the first answer whose keywords match wins, and any of its keywords will do', () => {
    const r = answers([['ship', 'delivery'], 'SHIP'], [['delivery', 'price'], 'OTHER']);
    expect(say(r, 'delivery price')).toEqual(['SHIP']);
    expect(say(r, 'what about shipping? the price')).toEqual(['OTHER']);
  });
});

describe('handoff', () => {
  const rules: BotRules = {
    answers: [{ keywords: ['price', 'agent fees'], reply: 'PRICE' }],
    handoff: {
      keywords: ['agent', 'talk to a person'],
      reply: 'CONNECTING',
      assignment: { type: 'queue', target: 'sales' },
    },
    fallback: 'FALLBACK',
  };

  it('takes precedence over answers, with its reply and assignment', () => {
    expect(onUserText(rules, 'agent fees, price?')).toEqual({
      replies: ['CONNECTING'],
      handoff: { assignment: { type: 'queue', target: 'sales' } },
    });
  });

  it('matches multi-word handoff keywords like answers do', () => {
    expect(say(rules, 'Can I TALK to a person, please?')).toBe('HANDOFF');
    expect(say(rules, 'talk to a personal trainer')).toEqual(['FALLBACK']);
    expect(say(rules, 'agents')).toEqual(['FALLBACK']);
  });

  it('says nothing when it has no reply, and has no assignment when none is set', () => {
    expect(onUserText({ handoff: { keywords: ['human'] } }, 'human')).toEqual({
      replies: [],
      handoff: { assignment: undefined },
    });
  });

  it.each([
    ['queue', 'support'],
    ['operator', 'op_42'],
    ['team', 'team-latam'],
  ] as const)('passes a %s assignment through as given', (type, target) => {
    const turn = onUserText({ handoff: { keywords: ['help'], assignment: { type, target } } }, 'help');
    expect(turn.handoff).toEqual({ assignment: { type, target } });
  });
});

describe('fallback and greeting', () => {
  it('says the fallback when nothing matches, and nothing at all without one', () => {
    expect(onUserText(answers([['price'], 'P']), 'hello')).toEqual({ replies: ['FALLBACK'] });
    expect(onUserText({ answers: [{ keywords: ['price'], reply: 'P' }] }, 'hello')).toEqual({ replies: [] });
    expect(onUserText({}, 'hello')).toEqual({ replies: [] });
  });

  it('empty or wordless text gets the fallback', () => {
    for (const text of ['', '   ', '?!', '\u0301']) {
      expect(onUserText(answers([['price'], 'P']), text)).toEqual({ replies: ['FALLBACK'] });
    }
  });

  it('greets when a room opens, if there is a greeting', () => {
    expect(onRoomOpened({ greeting: 'HELLO' })).toEqual({ replies: ['HELLO'] });
    expect(onRoomOpened({})).toEqual({ replies: [] });
  });
});

describe('hand-back', () => {
  const rules: BotRules = {
    steps: { survey: 'How did we do?', 'main menu': 'MENU' },
    welcomeBack: 'WELCOME BACK',
  };

  it('resumes at a known step', () => {
    expect(onHandBack(rules, 'survey')).toEqual({ replies: ['How did we do?'] });
    expect(onHandBack(rules, 'main menu')).toEqual({ replies: ['MENU'] });
  });

  it('matches step names exactly', () => {
    expect(onHandBack(rules, 'Survey')).toEqual({ replies: ['WELCOME BACK'] });
  });

  it('welcomes back at an unknown step, or when no step is named', () => {
    expect(onHandBack(rules, 'nowhere')).toEqual({ replies: ['WELCOME BACK'] });
    expect(onHandBack(rules, undefined)).toEqual({ replies: ['WELCOME BACK'] });
  });

  it('says nothing without a welcomeBack, or with no steps at all', () => {
    expect(onHandBack({ steps: { a: 'A' } }, 'b')).toEqual({ replies: [] });
    expect(onHandBack({}, 'a')).toEqual({ replies: [] });
    expect(onHandBack({}, undefined)).toEqual({ replies: [] });
  });
});

describe('DEFAULT_RULES', () => {
  it.each([
    'human',
    'HUMAN please',
    'humano',
    'Quero falar com um humano!',
    'pessoa',
    'uma PESSOA, por favor',
    'agent',
    'agente',
    'person',
  ])('hands off on %j, without an assignment', (text) => {
    const turn = onUserText(DEFAULT_RULES, text);
    expect(turn.handoff).toEqual({ assignment: undefined });
    expect(turn.replies).toEqual([DEFAULT_RULES.handoff?.reply]);
  });

  it('answers anything else with the fallback, greets, and welcomes back', () => {
    expect(onUserText(DEFAULT_RULES, 'hello there')).toEqual({ replies: [DEFAULT_RULES.fallback] });
    expect(onUserText(DEFAULT_RULES, 'humanity')).toEqual({ replies: [DEFAULT_RULES.fallback] });
    expect(onRoomOpened(DEFAULT_RULES).replies).toEqual([DEFAULT_RULES.greeting]);
    expect(onHandBack(DEFAULT_RULES, 'anything').replies).toEqual([DEFAULT_RULES.welcomeBack]);
  });

  it('are rules the admin API would accept', () => {
    expect(rulesProblems(DEFAULT_RULES)).toEqual({});
  });
});

// ------------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------------

/** Words that recur in keywords and texts, so that generated texts do match generated rules. */
const VOCABULARY = ['price', 'Preço', 'humano', 'AGENT', 'opening hours', 'e-mail', 'ação', '24h', 'цена'];

const anyText = (maxLength: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    // Lone surrogates and other UTF-16 oddities a JSON body may still carry.
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength }),
  );

const ruleText = fc.oneof(
  fc.constantFrom('Hi', 'Bye', 'Sorry'),
  anyText(50).filter((s) => s.length > 0),
);

const keyword = fc.oneof(
  fc.constantFrom(...VOCABULARY),
  fc.stringMatching(/^[\p{L}\p{N}][\p{L}\p{N} ,.!?-]{0,20}$/u).filter((s) => s.length <= KEYWORD_MAX),
);
const keywords = fc.array(keyword, { minLength: 1, maxLength: KEYWORDS_MAX });

const assignment = fc.record({
  type: fc.constantFrom('queue', 'operator', 'team'),
  target: fc.string({ minLength: 1, maxLength: 20 }),
});

/** Rules as the schema allows them: every field optional, every list and text within bounds. */
const rulesArb: fc.Arbitrary<BotRules> = fc.record(
  {
    greeting: ruleText,
    answers: fc.array(fc.record({ keywords, reply: ruleText }), { maxLength: Math.min(ANSWERS_MAX, 8) }),
    handoff: fc.record({ keywords, reply: ruleText, assignment }, { requiredKeys: ['keywords'] }),
    fallback: ruleText,
    steps: fc.dictionary(fc.string({ minLength: 1, maxLength: STEP_NAME_MAX }), ruleText, { maxKeys: 5 }),
    welcomeBack: ruleText,
  },
  { requiredKeys: [] },
);

/** Text made of vocabulary words and noise, joined by anything. */
const textArb = fc.oneof(
  anyText(200),
  fc.array(fc.oneof(fc.constantFrom(...VOCABULARY), anyText(8)), { maxLength: 8 }).chain((parts) =>
    fc
      .array(fc.constantFrom(' ', ', ', '!', '\n', '-', ''), {
        minLength: parts.length,
        maxLength: parts.length,
      })
      .map((seps) => parts.map((p, i) => p + seps[i]).join('')),
  ),
);

function ruleTexts(rules: BotRules): string[] {
  return [rules.handoff?.reply, rules.fallback, ...(rules.answers ?? []).map((a) => a.reply)].filter(
    (t): t is string => t !== undefined,
  );
}

describe('properties', () => {
  it('the generated rules are ones the admin API accepts', () => {
    fc.assert(
      fc.property(rulesArb, (rules) => {
        const problems = rulesProblems(rules);
        // Keywords made only of punctuation are refused by the API; the generator makes none.
        expect(problems).toEqual({});
      }),
      { numRuns: 200 },
    );
  });

  it("onUserText never throws, and says at most one of the rules' own texts", () => {
    fc.assert(
      fc.property(rulesArb, textArb, (rules, text) => {
        const turn = onUserText(rules, text);
        expect(turn.replies.length).toBeLessThanOrEqual(1);
        for (const r of turn.replies) expect(ruleTexts(rules)).toContain(r);
        if (turn.handoff !== undefined) {
          expect(rules.handoff).toBeDefined();
          expect(turn.handoff.assignment).toBe(rules.handoff?.assignment);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a handoff keyword standing as words of its own always hands off', () => {
    fc.assert(
      fc.property(
        rulesArb.filter((r) => r.handoff !== undefined),
        anyText(30),
        anyText(30),
        fc.nat(),
        (rules, before, after, pick) => {
          const list = rules.handoff?.keywords ?? [];
          const k = list[pick % list.length] ?? '';
          expect(onUserText(rules, `${before} ${k} ${after}`).handoff).toBeDefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('texts at the length limit are handled like any other', () => {
    const long = `${'a '.repeat(RULE_TEXT_MAX / 2 - 3)}human`;
    expect(onUserText(DEFAULT_RULES, long).handoff).toBeDefined();
  });
});

it('hand-back ignores inherited names such as constructor and toString', async () => {
  const { onHandBack } = await import('../../src/bots/rules/rule-bot.js');
  const rules = { steps: { survey: 'Rate us' }, welcomeBack: 'Back with the bot' };
  for (const edge of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    expect(onHandBack(rules, edge)).toEqual({ replies: ['Back with the bot'] });
  }
  expect(onHandBack(rules, 'survey')).toEqual({ replies: ['Rate us'] });
});
