/**
 * The layout's rules, read from the source's own imports (with the TypeScript parser, so that
 * `import type` — erased at build time — is told apart from an import that runs):
 * - no cycle of runtime imports between files of src/;
 * - the ground floors import nothing above them: src/model imports nothing of the project;
 *   src/storage only model; src/domain only model, storage, auth and errors.ts at run time
 *   (bots and channels are reached through their interface files, as types only);
 * - one floor listing for the rest, so a new folder has to say where it stands.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

interface Edge {
  readonly to: string;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files of src/ that `file` imports, each marked type-only or not. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    if (!specifier.startsWith('.')) return;
    edges.push({ to: resolve(dirname(file), specifier).replace(/\.js$/, '.ts'), typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allTypes =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, allTypes);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const clause = node.exportClause;
      const allTypes =
        node.isTypeOnly ||
        (clause !== undefined &&
          ts.isNamedExports(clause) &&
          clause.elements.length > 0 &&
          clause.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier.text, allTypes);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

const FILES = sourceFiles(SRC);
const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)]));
const rel = (f: string) => relative(SRC, f);

/** The folder (or top-level file) of src/ that a file belongs to: `storage`, `errors.ts`. */
function place(file: string): string {
  return rel(file).split('/')[0]!;
}

/** Strongly connected groups of more than one file in the runtime import graph (Tarjan). */
function runtimeCycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const { to, typeOnly } of GRAPH.get(v) ?? []) {
      if (typeOnly || !GRAPH.has(to)) continue;
      if (!index.has(to)) {
        connect(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(v, Math.min(low.get(v)!, index.get(to)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(rel(w));
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const f of FILES) if (!index.has(f)) connect(f);
  return groups;
}

/**
 * The floors, lowest first. A file may import at run time from its own place or a lower floor;
 * type-only imports may also reach the interface files named in TYPE_ONLY_UP.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['model', 'errors.ts', 'version.ts', 'config.ts'],
  ['storage'],
  ['observability'],
  ['auth'],
  ['domain'],
  ['bots', 'delivery'],
  ['admin'],
  ['http'],
  ['channels'],
  ['parties.ts', 'first-run-banner.ts', 'app.ts'],
  ['server.ts'],
  ['cli'],
];

/** Interfaces that a lower floor may name as types: how the domain calls bots and channels. */
const TYPE_ONLY_UP = new Set(['bots/engine.ts', 'channels/channel.ts']);

function floorOf(p: string): number {
  const i = FLOORS.findIndex((f) => f.includes(p));
  return i;
}

describe('the layout', () => {
  it('has no cycle of runtime imports between source files', () => {
    expect(runtimeCycles()).toEqual([]);
  });

  it('places every folder of src/ on a floor', () => {
    const unplaced = [...new Set(FILES.map(place))].filter((p) => floorOf(p) < 0);
    expect(unplaced).toEqual([]);
  });

  it('imports only downward (or sideways within a folder)', () => {
    const upward: string[] = [];
    for (const [file, edges] of GRAPH) {
      const from = place(file);
      for (const { to, typeOnly } of edges) {
        if (!to.startsWith(SRC)) continue;
        const target = place(to);
        if (target === from) continue;
        if (typeOnly && TYPE_ONLY_UP.has(rel(to))) continue;
        // Folders that share a floor (bots and delivery) may import each
        // other's files, but not in cycles (the test above).
        if (floorOf(target) > floorOf(from))
          upward.push(`${rel(file)} -> ${rel(to)}${typeOnly ? ' (type)' : ''}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps the glossary at the ground: src/model imports nothing of the project', () => {
    const out = FILES.filter((f) => place(f) === 'model').flatMap((f) =>
      GRAPH.get(f)!
        .filter((e) => e.to.startsWith(SRC) && place(e.to) !== 'model')
        .map((e) => `${rel(f)} -> ${rel(e.to)}`),
    );
    expect(out).toEqual([]);
  });
});
