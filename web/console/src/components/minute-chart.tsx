/**
 * Attempts per minute over the last hour, as stacked bars (delivered below, failed above), drawn
 * in SVG by hand: sixty rectangles need no charting library. The picture is for the eye; the
 * same figures are in a table under "Show the figures" for screen readers and for copying.
 */
import type { MinuteCount } from '../api';

const WIDTH = 600;
const HEIGHT = 160;
const GAP = 2;

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function MinuteChart({
  minutes,
  summary,
}: {
  readonly minutes: readonly MinuteCount[];
  readonly summary: string;
}) {
  const top = Math.max(1, ...minutes.map((m) => m.delivered + m.failed));
  const bar = WIDTH / Math.max(1, minutes.length);
  const h = (n: number) => (n / top) * (HEIGHT - 4);
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} class="chart-axis" />
        {minutes.map((m, i) => {
          const x = i * bar + GAP / 2;
          const w = Math.max(1, bar - GAP);
          const ok = h(m.delivered);
          const bad = h(m.failed);
          return (
            <g key={m.minute}>
              <title>{`${clock(m.minute)}: ${m.delivered} delivered, ${m.failed} failed`}</title>
              {ok > 0 ? <rect x={x} y={HEIGHT - ok} width={w} height={ok} class="chart-ok" /> : null}
              {bad > 0 ? <rect x={x} y={HEIGHT - ok - bad} width={w} height={bad} class="chart-bad" /> : null}
            </g>
          );
        })}
      </svg>
      <div class="chart-times" aria-hidden="true">
        <span>{first ? clock(first.minute) : ''}</span>
        <span>{last ? clock(last.minute) : ''}</span>
      </div>
      <figcaption class="chart-caption">
        <span class="swatch swatch-ok" aria-hidden="true" /> delivered
        <span class="swatch swatch-bad" aria-hidden="true" /> failed · the highest bar is {top}{' '}
        {top === 1 ? 'attempt' : 'attempts'}
      </figcaption>
      <details class="chart-table">
        <summary>Show the figures</summary>
        <table>
          <caption class="visually-hidden">Attempts per minute</caption>
          <thead>
            <tr>
              <th scope="col">Minute</th>
              <th scope="col">Delivered</th>
              <th scope="col">Failed</th>
            </tr>
          </thead>
          <tbody>
            {minutes
              .filter((m) => m.delivered + m.failed > 0)
              .map((m) => (
                <tr key={m.minute}>
                  <td>{clock(m.minute)}</td>
                  <td>{m.delivered}</td>
                  <td>{m.failed}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
