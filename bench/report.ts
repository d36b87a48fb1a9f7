/** The benchmark's printed report: the tables and which targets of the performance issue pass. */

import { median, round } from './lib/common.js';
import { type Backend, CONNECTIONS, E2E_STARTS_PER_SECOND_DEFAULT, STORE_FLOOR } from './lib/constants.js';

export interface TargetCheck {
  readonly id: string;
  readonly backend: Backend;
  readonly what: string;
  readonly target: string;
  readonly value: string;
  /** null: reported, not judged (no target on that database; or the run differs from the target's). */
  readonly pass: boolean | null;
  readonly why?: string;
}

const fmt = (v: unknown, digits = 2): string =>
  typeof v === 'number'
    ? Number.isFinite(v)
      ? String(round(v, digits))
      : '–'
    : v === undefined
      ? '–'
      : String(v);
const pct = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)} %`;

/** A text table; `right` lists the columns aligned to the right (numbers). */
function table(rows: string[][], right: ReadonlySet<number>): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r, j) => {
      const line = r
        .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
      return j === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

// biome-ignore lint/suspicious/noExplicitAny: the report walks the results' plain JSON.
export type Json = any;

/** relevo on PostgreSQL: the database server's own CPU per request, beside relevo's. */
function dbCpu(s: Json): string {
  return s.dbCpuUsPerRequest === undefined ? '' : `postgres server ${fmt(s.dbCpuUsPerRequest, 0)} µs/req`;
}

/**
 * The PostgreSQL targets of start→close cycles ((a) and (b)): each PostgreSQL row against
 * `relevo sqlite` of the same rounds, as the median of the per-round ratios of req/s and of
 * relevo's CPU per request.
 */
function versusSqlite(id: string, scenario: Json): TargetCheck[] {
  const rounds: Json[] = scenario.rounds ?? [];
  const labels = Object.keys(scenario.summary).filter((l) => l.startsWith('relevo postgres'));
  return labels.flatMap((label) => {
    const ratio = (of: (f: Json) => number) =>
      median(
        rounds.map((r) =>
          r[label] && r['relevo sqlite'] ? of(r[label]) / of(r['relevo sqlite']) : Number.NaN,
        ),
      );
    const rps = ratio((f) => f.rps);
    const cpu = ratio((f) => f.cpuUsPerRequest);
    const who = label === 'relevo postgres' ? '' : ` (${label.slice('relevo postgres, '.length)})`;
    return [
      {
        id,
        backend: 'postgres' as const,
        what: `req/s vs relevo sqlite, same rounds${who}`,
        target: '≥ 50 %',
        value: pct(rps),
        pass: Number.isFinite(rps) ? rps >= 0.5 : null,
      },
      {
        id,
        backend: 'postgres' as const,
        what: `relevo CPU per request vs sqlite's${who}`,
        target: '≤ 1.5×',
        value: Number.isFinite(cpu) ? `${fmt(cpu)}×` : '–',
        pass: Number.isFinite(cpu) ? cpu <= 1.5 : null,
      },
    ];
  });
}

/** `e2eStartsPerSecond`: the rate (c) ran at (judged only at the default). */
export function report(results: Json, e2eStartsPerSecond: number): { text: string; targets: TargetCheck[] } {
  const E2E_STARTS_PER_SECOND = e2eStartsPerSecond;
  const rows: string[][] = [
    [
      'scenario',
      'server',
      'req/s',
      'p50 ms',
      'p99 ms',
      'start p99',
      'vs baseline',
      'non-2xx',
      'cpu µs/req',
      'notes',
    ],
  ];
  const targets: TargetCheck[] = [];
  const judge = (backend: Backend, ok: boolean): boolean | null => (backend === 'sqlite' ? ok : null);
  const ingest = results.scenarios.ingest;
  if (ingest !== undefined) {
    for (const [label, s] of Object.entries<Json>(ingest.summary)) {
      rows.push([
        '(a) ingest',
        label,
        fmt(s.rps, 0),
        fmt(s.p50),
        fmt(s.p99),
        fmt(s.startP99),
        pct(s.ratio),
        fmt(s.non2xx + s.errors),
        fmt(s.cpuUsPerRequest, 0),
        dbCpu(s),
      ]);
      if (s.ratio !== undefined && label !== STORE_FLOOR) {
        const backend: Backend = label.includes('postgres') ? 'postgres' : 'sqlite';
        targets.push({
          id: 'a',
          backend,
          what: 'ingest req/s vs bare server, and p99',
          target: '≥ 50 %, p99 ≤ 10 ms',
          value: `${pct(s.ratio)}, p99 ${fmt(s.p99)} ms`,
          pass: judge(backend, s.ratio >= 0.5 && s.p99 <= 10 && s.non2xx + s.errors === 0),
        });
      }
    }
  }
  if (ingest !== undefined) targets.push(...versusSqlite('a', ingest));
  const pipeline = results.scenarios.pipeline;
  if (pipeline !== undefined) {
    for (const [label, s] of Object.entries<Json>(pipeline.summary)) {
      rows.push([
        '(b) pipeline',
        label,
        fmt(s.rps, 0),
        fmt(s.p50),
        fmt(s.p99),
        fmt(s.startP99),
        pct(s.ratio),
        fmt(s.non2xx + s.errors),
        fmt(s.cpuUsPerRequest, 0),
        `lost ${s.lost}/${s.expected}, drain ${fmt(s.drainMs, 0)} ms, delivered ${fmt(s.deliveredPerSecond, 0)}/s${s.dbCpuUsPerRequest === undefined ? '' : `; ${dbCpu(s)}`}`,
      ]);
      if (s.ratio !== undefined) {
        const backend: Backend = label.includes('postgres') ? 'postgres' : 'sqlite';
        targets.push({
          id: 'b',
          backend,
          what: 'pipeline req/s vs bare forwarder, no event lost',
          target: '≥ 60 %, lost 0',
          value: `${pct(s.ratio)}, lost ${s.lost}`,
          pass: judge(backend, s.ratio >= 0.6 && s.lost === 0 && s.non2xx + s.errors === 0),
        });
      }
    }
  }
  if (pipeline !== undefined) targets.push(...versusSqlite('b', pipeline));
  const e2e = results.scenarios.e2e;
  if (e2e !== undefined) {
    for (const [label, s] of Object.entries<Json>(e2e)) {
      rows.push([
        `(c) e2e @${E2E_STARTS_PER_SECOND}/s`,
        label,
        fmt(s.achievedStartsPerSecond, 0),
        fmt(s.p50),
        fmt(s.p99),
        '',
        '',
        fmt(s.non2xx),
        '',
        `${E2E_STARTS_PER_SECOND} starts/s + their closes; 200→receiver, every event; starts only p50/p99 ${fmt(s.startP50)}/${fmt(s.startP99)} ms; starts answered in p50/p99 ${fmt(s.answerP50)}/${fmt(s.answerP99)} ms; lost ${s.lost}${s.skipped > 0 ? `; ${s.skipped} starts skipped (no idle pair: the server fell behind)` : ''}`,
      ]);
      const backend: Backend = label.includes('postgres') ? 'postgres' : 'sqlite';
      // The one target both databases share: every start answered (none skipped, none refused),
      // every event delivered, p99 ≤ 50 ms from its request's answer.
      targets.push({
        id: 'c',
        backend,
        what: `200 → receiver at ${E2E_STARTS_PER_SECOND} starts/s, p99${label.endsWith('right after saturation') ? ', after (b)' : ''}${label.includes(', against') ? ' (against)' : ''}`,
        target: '≤ 50 ms, all answered, lost 0',
        value: `${fmt(s.p99)} ms, ${fmt(s.achievedStartsPerSecond, 0)} starts/s, lost ${s.lost}`,
        ...(E2E_STARTS_PER_SECOND === E2E_STARTS_PER_SECOND_DEFAULT
          ? { pass: s.p99 <= 50 && s.lost === 0 && s.skipped === 0 && s.non2xx === 0 }
          : { pass: null, why: `not judged (${E2E_STARTS_PER_SECOND} starts/s)` }),
      });
    }
  }
  const big = results.scenarios.bigdb;
  if (big !== undefined) {
    for (const [label, s] of Object.entries<Json>(big)) {
      const n = s.seed?.conversations ?? 0;
      for (const which of ['empty', 'seeded'] as const) {
        const f = s[which];
        rows.push([
          `(d) ${which === 'empty' ? 'empty db' : `${n.toLocaleString('en')} stored`}`,
          label,
          fmt(f.rps, 0),
          fmt(f.p50),
          fmt(f.p99),
          fmt(f.startP99),
          which === 'seeded' ? pct(f.ratio) : '',
          fmt(f.non2xx + f.errors),
          fmt(f.cpuUsPerRequest, 0),
          which === 'seeded'
            ? `start p50 ×${fmt(s.ratioP50)}, p99 ×${fmt(s.ratioP99)} of empty`
            : `start p50 ${fmt(f.startP50)} ms`,
        ]);
      }
      const backend: Backend = label.includes('postgres') ? 'postgres' : 'sqlite';
      targets.push({
        id: 'd',
        backend,
        what: `start latency, ${n.toLocaleString('en')} stored vs empty (p50, p99)`,
        target: '≤ 1.25×',
        value: `×${fmt(s.ratioP50)}, ×${fmt(s.ratioP99)}`,
        // The target is about a million stored conversations: a smaller seed (quick mode) is only indicative.
        ...(n >= 1_000_000
          ? { pass: judge(backend, s.ratioP50 <= 1.25 && s.ratioP99 <= 1.25) }
          : { pass: null, why: `not judged (${n.toLocaleString('en')} stored)` }),
      });
    }
  }
  if (pipeline?.rss !== undefined) {
    for (const [label, m] of Object.entries<Json>(pipeline.rss)) {
      rows.push([
        '(e) peak RSS in (b)',
        label,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        `${fmt(m.peakMiB, 1)} MiB (VmHWM)`,
      ]);
      const backend: Backend = label.includes('postgres') ? 'postgres' : 'sqlite';
      targets.push({
        id: 'e',
        backend,
        what: 'peak RSS during (b)',
        target: '≤ 200 MiB',
        value: `${fmt(m.peakMiB, 1)} MiB`,
        pass: judge(backend, m.peakMiB <= 200),
      });
    }
  }
  const m = results.machine;
  const head = [
    `relevo benchmark (${results.options.mode}): ${results.options.rounds} round(s) × ${results.options.measureSeconds} s, ${CONNECTIONS} connections, medians over rounds`,
    `machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}; load average before ${m.loadBefore.join(' ')}, after ${(m.loadAfter ?? []).join(' ')}`,
    `relevo ${results.relevo.commit ?? '?'}${results.relevo.dirty ? ' + uncommitted changes in src/' : ''}, run from ${results.relevo.cli}${
      Object.keys(results.relevo.env).length > 0
        ? ` with ${Object.entries(results.relevo.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ''
    }`,
    '',
  ];
  const targetRows: string[][] = [['target', 'db', 'what', 'goal', 'measured', 'verdict']];
  for (const t of targets) {
    targetRows.push([
      `(${t.id})`,
      t.backend,
      t.what,
      t.target,
      t.value,
      t.pass === null
        ? t.backend === 'postgres'
          ? 'no target'
          : (t.why ?? 'not judged')
        : t.pass
          ? 'PASS'
          : 'FAIL',
    ]);
  }
  return {
    text: [
      ...head,
      table(rows, new Set([2, 3, 4, 5, 6, 7, 8])),
      '',
      table(targetRows, new Set()),
      ...results.failures.map(
        (f: { scenario: string; error: string }) => `FAILED (${f.scenario}): ${f.error.split('\n')[0]}`,
      ),
    ].join('\n'),
    targets,
  };
}
