/**
 * Comments cite the repository's own documents, so a reader can follow them: every `X.md` named
 * in the code exists, every `docs/X.md §N` names a numbered section of that file, and every
 * `docs/X.md, "Heading"` a heading of it. And docs/api.md keeps up with the app: each route the
 * app registers under the external-support prefixes is listed there with its method.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PREFIXES } from '../../src/app.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCANNED = ['src', 'bench', 'test', 'scripts', 'examples'];
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const SELF = relative(ROOT, import.meta.filename);

function* sourceFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (SOURCE.test(name)) yield path;
  }
}

interface Headings {
  /** Section numbers of numbered headings: "4.10" for `### 4.10 Send a message…`. */
  readonly numbers: ReadonlySet<string>;
  /** Heading texts without backticks. */
  readonly texts: readonly string[];
}

const headingCache = new Map<string, Headings>();

/** The headings of a Markdown file, outside fenced code blocks. */
function headingsOf(file: string): Headings {
  const cached = headingCache.get(file);
  if (cached !== undefined) return cached;
  const numbers = new Set<string>();
  const texts: string[] = [];
  let fenced = false;
  for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (!m?.[1]) continue;
    const text = m[1].replaceAll('`', '');
    texts.push(text);
    const n = /^(\d+(?:\.\d+)*)\.?\s/.exec(text);
    if (n?.[1]) numbers.add(n[1]);
  }
  const headings = { numbers, texts };
  headingCache.set(file, headings);
  return headings;
}

/**
 * A file name as code cites it (`docs/api.md`, `README.md`, `../../docs/errors.md`), then what
 * may follow it: section numbers (`§4.1–§4.5`, `§4.6, §4.7`, `§4.7 and §4.9`) or a quoted heading.
 */
const CITATION =
  /(?<![\w/.-])((?:\.\.\/)*(?:[\w-]+\/)*[\w-]+\.md)((?:,?\s*(?:and\s+)?[–-]?\s*§\d+(?:\.\d+)*)*)(?:,?\s+"([^"\n]+)")?/g;

/** Every broken citation in the scanned source files, as `path:line: problem`. */
function brokenCitations(): string[] {
  const problems: string[] = [];
  for (const dir of SCANNED) {
    for (const path of sourceFiles(join(ROOT, dir))) {
      const file = relative(ROOT, path);
      if (file === SELF) continue;
      const text = readFileSync(path, 'utf8');
      for (const m of text.matchAll(CITATION)) {
        const [, cited = '', sections = '', heading] = m;
        const line = text.slice(0, m.index).split('\n').length;
        const where = `${file}:${line}`;
        // Paths are written from the repository's root; `../` only climbs out of the source file.
        const target = cited.replace(/^(\.\.\/)+/, '');
        if (!existsSync(join(ROOT, target))) {
          problems.push(`${where}: cites ${cited}, which is not in the repository`);
          continue;
        }
        const { numbers, texts } = headingsOf(target);
        for (const [, n] of sections.matchAll(/§(\d+(?:\.\d+)*)/g)) {
          if (!numbers.has(n as string)) problems.push(`${where}: ${target} has no section §${n}`);
        }
        // A quotation after a bare name may be a sentence; after docs/… it names a heading.
        if (
          heading !== undefined &&
          target.startsWith('docs/') &&
          !texts.some((t) => t.startsWith(heading))
        ) {
          problems.push(`${where}: ${target} has no heading "${heading}"`);
        }
      }
    }
  }
  return problems;
}

describe('citations of documents in the code', () => {
  it('name files that exist, and sections and headings that exist in them', () => {
    expect(brokenCitations()).toEqual([]);
  });

  it('are checked: a missing file, section or heading is reported', () => {
    // The check itself, on the pattern it applies to every file, so that a pattern that matched
    // nothing could not pass the test above vacuously.
    const found = [
      ...'see contract.md §4.10; docs/api.md §4.1–§4.5 and docs/webhooks.md, "Retries"'.matchAll(CITATION),
    ].map((m) => [m[1], m[2]?.trim(), m[3]]);
    expect(found).toEqual([
      ['contract.md', '§4.10', undefined],
      ['docs/api.md', '§4.1–§4.5', undefined],
      ['docs/webhooks.md', '', 'Retries'],
    ]);
    expect(existsSync(join(ROOT, 'contract.md'))).toBe(false);
    expect(headingsOf('docs/api.md').numbers.has('4.10')).toBe(true);
    expect(headingsOf('docs/api.md').numbers.has('4.11')).toBe(false);
    expect(headingsOf('docs/webhooks.md').texts).toContain('Retries');
  });
});

/**
 * Every route with its full path and methods, read from Fastify's route tree: one line per node,
 * indented four characters a level, `── <segment> (<METHODS>)`.
 */
function registeredRoutes(tree: string): { path: string; methods: string[] }[] {
  const routes: { path: string; methods: string[] }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^(.*?)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + (m[2] ?? '');
    stack.push(path);
    if (m[3]) routes.push({ path, methods: m[3].split(', ') });
  }
  return routes;
}

describe('docs/api.md', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('names the three prefixes', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    for (const prefix of API_PREFIXES) expect(doc, prefix).toContain(`\`${prefix}\``);
  });

  it('lists every route of the external-support API with its method', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    const routes = registeredRoutes(h.app.server.printRoutes({ commonPrefix: false }));
    const listed: string[] = [];
    const missing = new Set<string>();
    for (const { path, methods } of routes) {
      const prefix = API_PREFIXES.find((p) => path.startsWith(`${p}/external-support`));
      if (prefix === undefined) continue;
      const documented = `{base}${path.slice(prefix.length).replace(/:(\w+)/g, '{$1}')}`;
      // HEAD is Fastify's automatic twin of each GET.
      for (const method of methods.filter((x) => x !== 'HEAD')) {
        const entry = `${method} ${documented}`;
        listed.push(entry);
        if (!doc.includes(`\`${entry}\``)) missing.add(entry);
      }
    }
    // 15 method-and-path pairs today under each prefix: a parse that found nothing must not pass.
    expect(listed.length).toBeGreaterThanOrEqual(15 * API_PREFIXES.length);
    expect([...missing]).toEqual([]);
  });
});
