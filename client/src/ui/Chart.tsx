/**
 * A uPlot chart that pulls its data itself at a fixed rate (default 10 Hz) instead of being
 * re-rendered by React: `read()` returns the columns when `version()` changed. A cursor line
 * (`cursor()`, x units) marks the playhead in recordings.
 */
import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly dash?: number[];
}

export interface ChartProps {
  readonly title: string;
  readonly series: readonly ChartSeries[];
  readonly read: () => AlignedData;
  readonly version: () => number;
  readonly height?: number;
  readonly hz?: number;
  readonly yLabel?: string;
  /** x of a vertical marker line (the playhead), or NaN. */
  readonly cursor?: () => number;
  /** x of event markers with their colour. */
  readonly markers?: () => readonly { x: number; color: string }[];
  readonly onClickX?: (x: number) => void;
  readonly testId?: string;
  /**
   * A log₁₀ y axis, for values spanning decades (latency: sub-millisecond stages beside round-trip
   * spikes). Values ≤ 0 cannot be drawn on it and are gaps.
   */
  readonly logY?: boolean;
}

export function Chart({ title, series, read, version, height = 180, hz = 10, yLabel, cursor, markers, onClickX, testId, logY = false }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const latest = useRef({ read, version, cursor, markers, onClickX });
  latest.current = { read, version, cursor, markers, onClickX };
  const seriesKey = series.map((s) => s.label).join('|');
  // biome-ignore lint/correctness/useExhaustiveDependencies: the chart is rebuilt only when the series change
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: Options = {
      title,
      width: Math.max(200, el.clientWidth),
      height,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, ...(logY ? { y: { distr: 3, log: 10 } } : {}) },
      axes: [
        { stroke: '#aab', grid: { stroke: '#2a2e35' } },
        { stroke: '#aab', grid: { stroke: '#2a2e35' }, ...(yLabel ? { label: yLabel } : {}) },
      ],
      series: [{ label: 't (s)' }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true, ...(s.dash ? { dash: s.dash } : {}), points: { show: false } }))],
      hooks: {
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            const draw = (x: number, color: string, w: number) => {
              if (!Number.isFinite(x)) return;
              const px = u.valToPos(x, 'x', true);
              if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) return;
              ctx.save();
              ctx.strokeStyle = color;
              ctx.lineWidth = w;
              ctx.beginPath();
              ctx.moveTo(px, u.bbox.top);
              ctx.lineTo(px, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.restore();
            };
            for (const m of latest.current.markers?.() ?? []) draw(m.x, m.color, 1);
            draw(latest.current.cursor?.() ?? Number.NaN, '#ffffff', 2);
          },
        ],
      },
    };
    // The y range drawn, on the element (tests read it; the axis itself is canvas pixels).
    const showRange = (u: uPlot) => {
      el.dataset['yMin'] = String(u.scales['y']?.min ?? '');
      el.dataset['yMax'] = String(u.scales['y']?.max ?? '');
    };
    opts.hooks = { ...opts.hooks, setScale: [(u: uPlot, key: string) => (key === 'y' ? showRange(u) : undefined)] };
    const plot = new uPlot(opts, gapsAsNull(read(), logY), el);
    const onClick = (ev: MouseEvent) => {
      const f = latest.current.onClickX;
      if (!f) return;
      const rect = plot.over.getBoundingClientRect();
      f(plot.posToVal(ev.clientX - rect.left, 'x'));
    };
    plot.over.addEventListener('click', onClick);
    let shown = -1;
    let shownCursor = Number.NaN;
    const timer = setInterval(() => {
      const v = latest.current.version();
      const c = latest.current.cursor?.() ?? Number.NaN;
      if (v !== shown) {
        shown = v;
        plot.setData(gapsAsNull(latest.current.read(), logY));
      } else if (c !== shownCursor && !(Number.isNaN(c) && Number.isNaN(shownCursor))) plot.redraw(false, false);
      shownCursor = c;
    }, 1000 / hz);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      clearInterval(timer);
      resize.disconnect();
      plot.over.removeEventListener('click', onClick);
      plot.destroy();
    };
  }, [seriesKey, title, height, hz, yLabel, logY]);
  return <div ref={host} className="chart" data-testid={testId} />;
}

/** uPlot draws gaps for `null`; NaN (absent values on the wire) would break its scales, as would values ≤ 0 on a log axis. */
export function gapsAsNull(data: AlignedData, positiveOnly = false): AlignedData {
  const ok = (v: number): boolean => Number.isFinite(v) && (!positiveOnly || v > 0);
  return data.map((col, k) => {
    if (k === 0) return col;
    let clean = true;
    for (let i = 0; i < col.length; i++) {
      if (!ok(col[i] as number)) {
        clean = false;
        break;
      }
    }
    return clean ? col : Array.from(col as ArrayLike<number>, (v) => (ok(v) ? v : null));
  }) as unknown as AlignedData;
}
