/**
 * The time-space diagram as an ECharts option, from the server's time-space
 * data (web/server/timeSpace.ts): time across three cycles, distance up; per
 * signal an outbound bar just above its line and an inbound bar just below,
 * through green, then yellow and all-red, red otherwise; the two bands as
 * shaded polygons with their width and progression speed in the legend.
 * ECharts does the drawing (custom series of rects and polygons); this module
 * only says where things are. Used by the corridor page (./pages/Corridor.tsx).
 */
import * as echarts from 'echarts/core';
import { CustomChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { ScatterSeriesOption, CustomSeriesOption, CustomSeriesRenderItemAPI, CustomSeriesRenderItemParams, CustomSeriesRenderItemReturn, EChartsCoreOption } from 'echarts';
import type { BandSide, TimeSpaceData, TsdSignal } from './api.js';
import type { T } from './i18n.js';

echarts.use([CustomChart, ScatterChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, CanvasRenderer]);
export { echarts };

export const COLORS = { green: '#2ca02c', yellow: '#f2c400', allRed: '#7f0000', red: '#d62728', out: '#1f77b4', in: '#ff7f0e' } as const;
const CYCLES = 3;
/** Bar thickness and its gap from the signal's line, px. */
const BAR_PX = 5;
const GAP_PX = 2;

type Kind = 'green' | 'yellow' | 'allRed' | 'red';
/** [from s, to s, distance m, 0 outbound / 1 inbound, signal index] */
type Bar = [number, number, number, number, number];

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The bars of one kind for every signal over the horizon (one item per piece of a cycle). */
function bars(signals: readonly TsdSignal[], horizonS: number): Record<Kind, Bar[]> {
  const out: Record<Kind, Bar[]> = { green: [], yellow: [], allRed: [], red: [] };
  signals.forEach((s, k) => {
    for (const [dir, g] of [
      [0, s.out],
      [1, s.in],
    ] as const) {
      const first = Math.floor(-(s.offsetS + g.startS) / s.cycleS) - 1;
      const last = Math.ceil(horizonS / s.cycleS) + 1;
      for (let rep = first; rep <= last; rep++) {
        const a = s.offsetS + g.startS + rep * s.cycleS;
        const pieces: [Kind, number, number][] = [
          ['green', a, a + g.greenS],
          ['yellow', a + g.greenS, a + g.greenS + g.yellowS],
          ['allRed', a + g.greenS + g.yellowS, a + g.greenS + g.yellowS + g.allRedS],
          ['red', a + g.greenS + g.yellowS + g.allRedS, a + s.cycleS],
        ];
        for (const [kind, from, to] of pieces) if (to > from + 1e-6 && to > 0 && from < horizonS) out[kind].push([from, to, s.positionM, dir, k]);
      }
    }
  });
  return out;
}

/** One polygon per cycle: the band's edges through every signal. Items carry the repetition; the geometry is in the closure. */
function bandSeries(name: string, color: string, side: BandSide, signals: readonly TsdSignal[], cycleS: number, sign: 1 | -1): CustomSeriesOption {
  const reps: number[] = [];
  for (let k = -2; k <= CYCLES + 2; k++) reps.push(k);
  return {
    type: 'custom',
    name,
    clip: true,
    silent: true,
    z: 1,
    itemStyle: { color },
    data: side.widthS > 0.05 ? reps.map((k) => [k]) : [],
    renderItem: (_p: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI): CustomSeriesRenderItemReturn => {
      const base = side.startS + Number(api.value(0)) * cycleS;
      const lower = signals.map((s, i) => api.coord([base + sign * (side.travelS[i] ?? 0), s.positionM]));
      const upper = signals.map((s, i) => api.coord([base + sign * (side.travelS[i] ?? 0) + side.widthS, s.positionM])).reverse();
      return { type: 'polygon', shape: { points: [...lower, ...upper] }, style: { fill: color, opacity: 0.3, stroke: color } };
    },
  };
}

function barSeries(name: string, color: string, data: Bar[], signals: readonly TsdSignal[], t: T): CustomSeriesOption {
  return {
    type: 'custom',
    name,
    clip: true,
    z: 2,
    itemStyle: { color },
    encode: { x: [0, 1], y: 2 },
    data,
    tooltip: {
      formatter: (p) => {
        const v = (p as unknown as { value: Bar }).value;
        const s = signals[v[4]]!;
        return `${s.id} ${s.name}<br/>${v[3] === 0 ? s.outApproach : s.inApproach} ${name}: ${round1(v[0])}–${round1(v[1])} s · ${t('offsetOf', { signal: s.id })} ${round1(s.offsetS)}`;
      },
    },
    renderItem: (_p: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI): CustomSeriesRenderItemReturn => {
      const a = api.coord([api.value(0), api.value(2)]);
      const b = api.coord([api.value(1), api.value(2)]);
      const y = Number(api.value(3)) === 0 ? a[1]! - GAP_PX - BAR_PX : a[1]! + GAP_PX;
      return { type: 'rect', shape: { x: a[0]!, y, width: Math.max(0.5, b[0]! - a[0]!), height: BAR_PX }, style: { fill: color } };
    },
  };
}

function speedText(links: TimeSpaceData['links']): string {
  const speeds = links.map((l) => l.speedKph);
  if (speeds.length === 0) return '–';
  const lo = Math.min(...speeds);
  const hi = Math.max(...speeds);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}

/**
 * The "now" line: the service's clock on the diagram's time axis. Offsets are measured from the
 * clock's zero, and the horizon is a whole number of every signal's cycle, so clock mod horizon
 * is where the signals are now. Merged into the chart (series id 'now') once a second.
 */
export function nowOption(d: TimeSpaceData, tS: number, t: T): EChartsCoreOption {
  return { series: [nowSeries(d, tS, t)] };
}

function nowSeries(d: TimeSpaceData, tS: number, t: T): ScatterSeriesOption {
  const cycleS = d.bands?.cycleS ?? Math.max(...d.signals.map((s) => s.cycleS));
  const x = ((tS % (CYCLES * cycleS)) + CYCLES * cycleS) % (CYCLES * cycleS);
  // ECharts draws a series' markLine only with some data: one invisible point on the line.
  return { id: 'now', data: [[x, d.signals[0]?.positionM ?? 0]], markLine: { silent: true, symbol: 'none', lineStyle: { color: '#111', width: 2, type: 'solid' }, label: { formatter: t('now') }, data: [{ xAxis: x }] } };
}

/**
 * The chart's option for `d`; `t` names the series in the page's language. With `nowS` the
 * "now" line is in it, so a new plan is drawn in one setOption (not a second one for the line).
 */
export function timeSpaceOption(d: TimeSpaceData, t: T, nowS?: number): EChartsCoreOption {
  const cycleS = d.bands?.cycleS ?? Math.max(...d.signals.map((s) => s.cycleS));
  const horizonS = CYCLES * cycleS;
  const lengthM = d.signals[d.signals.length - 1]?.positionM ?? 0;
  const b = bars(d.signals, horizonS);
  const kph = speedText(d.links);
  const outName = t('outboundBand', { s: round1(d.bands?.out.widthS ?? 0), kph });
  const inName = t('inboundBand', { s: round1(d.bands?.in.widthS ?? 0), kph });
  // Each signal's local cycle zero, the moment its offset is measured to: a marker above its bars.
  const zeros: [number, number][] = [];
  for (const s of d.signals) for (let tS = ((s.offsetS % s.cycleS) + s.cycleS) % s.cycleS; tS <= horizonS; tS += s.cycleS) zeros.push([tS, s.positionM]);
  const series: (CustomSeriesOption | ScatterSeriesOption)[] = [
    ...(d.bands && d.bands.cycleS !== null ? [bandSeries(outName, COLORS.out, d.bands.out, d.signals, cycleS, 1), bandSeries(inName, COLORS.in, d.bands.in, d.signals, cycleS, -1)] : []),
    barSeries(t('red'), COLORS.red, b.red, d.signals, t),
    barSeries(t('green'), COLORS.green, b.green, d.signals, t),
    barSeries(t('yellow'), COLORS.yellow, b.yellow, d.signals, t),
    barSeries(t('allRed'), COLORS.allRed, b.allRed, d.signals, t),
    { type: 'scatter', id: 'now', data: [], silent: true, symbolSize: 0, z: 4, ...(nowS !== undefined ? nowSeries(d, nowS, t) : {}) },
    { type: 'scatter', name: t('cycleZero'), data: zeros, symbol: 'triangle', symbolRotate: 180, symbolSize: 8, symbolOffset: [0, -(GAP_PX + BAR_PX + 6)], itemStyle: { color: '#222' }, z: 3, tooltip: { formatter: (p) => `${t('cycleZero')}: ${round1((p as unknown as { value: [number, number] }).value[0])} s` } },
  ];
  return {
    animation: false,
    aria: { enabled: true },
    tooltip: { trigger: 'item' },
    legend: { top: 0, type: 'plain' },
    grid: { left: 70, right: 24, top: 56, bottom: 48 },
    xAxis: { type: 'value', name: t('timeAxis'), nameLocation: 'middle', nameGap: 28, min: 0, max: horizonS, interval: cycleS / 4 >= 10 ? 30 : 10 },
    yAxis: {
      type: 'value',
      name: t('distanceAxis'),
      min: -Math.max(30, lengthM * 0.03),
      max: lengthM + Math.max(30, lengthM * 0.03),
      // One tick and label per signal, at its distance: the rows of the diagram.
      axisTick: { customValues: d.signals.map((s) => s.positionM) },
      axisLabel: { customValues: d.signals.map((s) => s.positionM), formatter: (v: number) => d.signals.find((s) => Math.abs(s.positionM - v) < 0.5)?.id ?? String(Math.round(v)) },
      splitLine: { show: false },
    },
    series,
  };
}
