/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and says where the time went: self time
 * per function, self time per module (relevo's own files, each package, Node's internals, the
 * garbage collector), and the inclusive time of relevo's functions.
 *
 *   node dist-bench/bench/cpuprofile.js <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}
export interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

export interface Row {
  readonly name: string;
  readonly where: string;
  readonly ms: number;
  /** Share of the busy time (everything but idle), in %. */
  readonly pct: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly bySelf: Row[];
  readonly byModule: Row[];
  /** relevo's own functions by inclusive time (self and everything they call). */
  readonly relevoInclusive: Row[];
}

/** Where a frame comes from: relevo's file, an npm package, Node itself, or V8's pseudo-frames. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName.startsWith('(')) return functionName;
    return '(native)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return 'node (internals)';
  const own = /\/dist\/(.+)$/.exec(url);
  if (own) return `relevo ${own[1]}`;
  return url;
}

function shortWhere(url: string, line: number): string {
  const pkg = /node_modules\/(.+)$/.exec(url);
  const own = /\/dist\/(.+)$/.exec(url);
  const path = pkg ? (pkg[1] as string) : own ? `dist/${own[1]}` : url;
  return path === '' ? '' : `${path}:${line + 1}`;
}

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByNode = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: it belongs to sample i.
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
  });

  const keyOf = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'}\u0000${n.callFrame.url}\u0000${n.callFrame.lineNumber}`;
  const self = new Map<string, { node: ProfileNode; ms: number }>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, { node: ProfileNode; ms: number }>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, ms] of selfByNode) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalMs += ms;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)') {
      idleMs += ms;
      continue;
    }
    const key = keyOf(node);
    const entry = self.get(key) ?? { node, ms: 0 };
    entry.ms += ms;
    self.set(key, entry);
    const mod = moduleOf(node.callFrame.url, fn);
    modules.set(mod, (modules.get(mod) ?? 0) + ms);
    // Inclusive time: each distinct relevo frame on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n === undefined) break;
      if (!/\/dist\//.test(n.callFrame.url) || /node_modules/.test(n.callFrame.url)) continue;
      const k = keyOf(n);
      if (seen.has(k)) continue;
      seen.add(k);
      const e = inclusive.get(k) ?? { node: n, ms: 0 };
      e.ms += ms;
      inclusive.set(k, e);
    }
  }
  const busyMs = totalMs - idleMs;
  const pct = (ms: number) => (busyMs > 0 ? (ms / busyMs) * 100 : 0);
  const rowOf = ({ node, ms }: { node: ProfileNode; ms: number }): Row => ({
    name: node.callFrame.functionName || '(anonymous)',
    where: shortWhere(node.callFrame.url, node.callFrame.lineNumber),
    ms,
    pct: pct(ms),
  });
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    idleMs,
    bySelf: [...self.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(rowOf),
    byModule: [...modules]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, where: '', ms, pct: pct(ms) })),
    relevoInclusive: [...inclusive.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(rowOf),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const table = (title: string, rows: Row[]) => [
    title,
    ...rows.map(
      (r) =>
        `  ${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}${r.where === '' ? '' : `  (${r.where})`}`,
    ),
  ];
  return [
    `wall ${s.wallMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms (percentages are of busy time)`,
    '',
    ...table('Self time by module:', s.byModule),
    '',
    ...table('Self time by function:', s.bySelf),
    '',
    ...table("Inclusive time of relevo's functions:", s.relevoInclusive),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: cpuprofile <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${formatSummary(summarize(profile, top === undefined ? 25 : Number(top)))}\n`);
}
