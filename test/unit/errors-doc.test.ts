/**
 * docs/errors.md and the CATALOGUE of src/errors.ts must say the same thing: the same codes,
 * HTTP statuses and messages. And every catalogue entry must be usable in all three languages.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, type CatalogueEntry, type Lang } from '../../src/errors.js';

const LANGS: readonly Lang[] = ['en', 'es', 'pt'];
const entries = Object.entries(CATALOGUE) as Array<[string, CatalogueEntry]>;

interface DocRow {
  readonly code: string;
  readonly status: number;
  readonly when: string;
  readonly message: string;
}

/** The rows of the table under "## Catalogue", as written. */
function catalogueRows(markdown: string): DocRow[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Catalogue'));
  if (section === undefined) throw new Error('docs/errors.md has no "## Catalogue" section');
  const lines = section.split('\n').filter((l) => l.trim().startsWith('|'));
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  const [header, separator, ...body] = lines;
  expect(cells(header ?? '')).toEqual(['code', 'HTTP', 'when', 'message']);
  expect(separator).toMatch(/^\|(\s*-+\s*\|)+$/);
  return body.map((line) => {
    const [code = '', status = '', when = '', message = ''] = cells(line);
    const m = /^`([a-z0-9_]+)`$/.exec(code);
    if (!m?.[1]) throw new Error(`not a code cell: ${code}`);
    return { code: m[1], status: Number(status), when, message };
  });
}

const rows = catalogueRows(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8'));

describe('docs/errors.md', () => {
  it('lists each code once', () => {
    const codes = rows.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('lists exactly the codes of the catalogue, with their HTTP statuses', () => {
    const documented = Object.fromEntries(rows.map((r) => [r.code, r.status]));
    const actual = Object.fromEntries(entries.map(([code, e]) => [code, e.status]));
    expect(documented).toEqual(actual);
  });

  it('gives each code its envelope message and a non-empty explanation', () => {
    for (const row of rows) {
      const entry = (CATALOGUE as Record<string, CatalogueEntry>)[row.code];
      expect(row.message, row.code).toBe(entry?.message);
      expect(row.when.length, `${row.code} has no "when"`).toBeGreaterThan(10);
    }
  });
});

describe('CATALOGUE', () => {
  it('uses snake_case codes and error statuses', () => {
    for (const [code, e] of entries) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect(e.status, code).toBeLessThan(600);
      expect(e.message.trim(), code).not.toBe('');
    }
  });

  for (const kind of ['developer', 'client'] as const) {
    it(`has ${kind} messages in en, es and pt, translated`, () => {
      for (const [code, e] of entries) {
        const messages = e[kind];
        expect(Object.keys(messages).sort(), code).toEqual([...LANGS].sort());
        for (const lang of LANGS) expect(messages[lang].trim(), `${code}.${kind}.${lang}`).not.toBe('');
        // Spanish and Portuguese share many words, so only each against English is checked.
        expect(messages.es, `${code}.${kind}.es is the English text`).not.toBe(messages.en);
        expect(messages.pt, `${code}.${kind}.pt is the English text`).not.toBe(messages.en);
      }
    });
  }
});
