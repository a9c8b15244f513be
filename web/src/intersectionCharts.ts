/**
 * The intersection page's charts as ECharts options: the ring-barrier
 * diagram of the running plan (one row per ring, or one for a stage sequence;
 * each phase's green, yellow and all-red across the cycle, barriers dashed,
 * and a "now" cursor merged in from the live SPaT), and from the stored
 * events' measures (web/server/intersectionApi.ts) the Purdue coordination
 * diagram, the split monitor and the split failures' occupancies. ECharts
 * draws; these functions only say where. Used by ./pages/Intersection.tsx.
 */
import type { CustomSeriesRenderItemAPI, CustomSeriesRenderItemParams, CustomSeriesRenderItemReturn, EChartsCoreOption } from 'echarts';
import { LineChart } from 'echarts/charts';
import type { IntersectionInfo, PhaseMeasures } from './api.js';
import type { T } from './i18n.js';
import { COLORS, echarts } from './tsdChart.js';

echarts.use([LineChart]);

const KIND_COLORS = [COLORS.green, COLORS.yellow, COLORS.allRed] as const;
const r1 = (x: number): string => String(Math.round(x * 10) / 10);

/** [from s, to s, row, 0 green / 1 yellow / 2 all-red, phase index] */
type Piece = [number, number, number, number, number];

/** Each phase's intervals in its ring's row, cut at the cycle's end (a phase may run over cycle zero). */
function pieces(ix: IntersectionInfo): Piece[] {
  const out: Piece[] = [];
  const c = ix.cycleS;
  ix.phases.forEach((p, k) => {
    if (p.onDemand || p.greenS <= 0) return;
    const row = ix.phasing === 'stages' ? 0 : p.ring - 1;
    let at = p.startS;
    [p.greenS, p.yellowS, p.allRedS].forEach((d, kind) => {
      const from = ((at % c) + c) % c;
      const to = from + d;
      if (d > 0) {
        out.push([from, Math.min(to, c), row, kind, k]);
        if (to > c + 1e-6) out.push([0, to - c, row, kind, k]);
      }
      at += d;
    });
  });
  return out;
}

export function ringBarrierOption(ix: IntersectionInfo, t: T): EChartsCoreOption {
  const rows = ix.phasing === 'stages' ? [t('stagesRow')] : Array.from({ length: ix.rings }, (_, k) => t('ringRow', { n: k + 1 }));
  // Barrier lines at the start of each barrier group after the first.
  const barriers: number[] = [];
  if (ix.phasing === 'ringBarrier')
    for (let b = 2; b <= ix.barriers; b++) {
      const starts = ix.phases.filter((p) => p.barrier === b && !p.onDemand).map((p) => p.startS);
      if (starts.length > 0) barriers.push(Math.min(...starts));
    }
  const renderItem = (_params: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI): CustomSeriesRenderItemReturn => {
    const [from, to, row, kind, k] = [0, 1, 2, 3, 4].map((d) => Number(api.value(d))) as Piece;
    const a = api.coord([from, row]);
    const b = api.coord([to, row]);
    const h = (api.size!([0, 1]) as number[])[1]! * 0.6;
    const p = ix.phases[k]!;
    const children: object[] = [{ type: 'rect', shape: { x: a[0]!, y: a[1]! - h / 2, width: Math.max(1, b[0]! - a[0]!), height: h }, style: { fill: KIND_COLORS[kind]!, stroke: '#fff', lineWidth: 1 } }];
    if (kind === 0 && b[0]! - a[0]! > 24)
      children.push({ type: 'text', x: (a[0]! + b[0]!) / 2, y: a[1]!, style: { text: `${p.phaseId}\n${[...p.protected].join(' ')}`, fill: '#fff', align: 'center', verticalAlign: 'middle', font: 'bold 12px sans-serif', width: b[0]! - a[0]! - 4, overflow: 'truncate' } });
    return { type: 'group', children } as CustomSeriesRenderItemReturn;
  };
  return {
    animation: false,
    grid: { left: 70, right: 20, top: 46, bottom: 40 },
    legend: { top: 2, data: [t('ms_green'), t('yellow'), t('allRed')], selectedMode: false },
    tooltip: { trigger: 'item' },
    xAxis: { type: 'value', min: 0, max: ix.cycleS, name: t('inCycleAxis'), nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'category', data: rows, inverse: true },
    series: [
      {
        id: 'phases',
        type: 'custom',
        name: t('ms_green'),
        color: COLORS.green,
        renderItem,
        encode: { x: [0, 1], y: 2 },
        data: pieces(ix),
        tooltip: {
          formatter: (p: { value: Piece }) => {
            const ph = ix.phases[p.value[4]]!;
            return t('phaseTip', { phase: ph.phaseId, start: r1(ph.startS), green: r1(ph.greenS), yellow: r1(ph.yellowS), allRed: r1(ph.allRedS), movements: [...ph.protected, ...ph.permitted.map((m) => `(${m})`)].join(' ') });
          },
        },
        markLine: barriers.length > 0 ? { symbol: 'none', silent: true, lineStyle: { color: '#1b1f23', type: 'dashed', width: 2 }, label: { formatter: t('barrier'), position: 'insideEndTop' }, data: barriers.map((x) => ({ xAxis: x })) } : undefined,
      },
      // Legend entries only.
      { type: 'scatter', name: t('yellow'), color: COLORS.yellow, data: [] },
      { type: 'scatter', name: t('allRed'), color: COLORS.allRed, data: [] },
      { id: 'now', type: 'scatter', data: [] },
    ],
  };
}

/** The "now" cursor at the signal's time in cycle, merged into the ring-barrier option. */
export function cursorOption(cycleTimeS: number, cycleS: number, t: T): EChartsCoreOption {
  const x = ((cycleTimeS % cycleS) + cycleS) % cycleS;
  return { series: [{ id: 'now', markLine: { symbol: 'none', silent: true, animation: false, lineStyle: { color: '#0969da', width: 3 }, // The rows' axis is inverted: a vertical line's start is at the top.
        label: { formatter: t('nowAt', { s: x.toFixed(0) }), color: '#0969da', position: 'start' }, data: [{ xAxis: x }] } }] };
}

const timeAxis = (t: T) => ({ type: 'time', name: t('timeOfDay'), nameLocation: 'middle', nameGap: 26 });
const base = (t: T, legend: string[]) => ({ animation: false, grid: { left: 60, right: 20, top: 78, bottom: 44 }, legend: { top: 4, left: 10, right: 10, itemGap: 8, data: legend }, tooltip: { trigger: 'item' }, xAxis: timeAxis(t) });

/** Purdue coordination diagram: each arrival at the time it came, up by its seconds into the cycle; green and yellow start per cycle. */
export function pcdOption(m: PhaseMeasures, t: T): EChartsCoreOption {
  const on = (k: 0 | 1 | 2) => m.pcdPoints.filter((p) => p[2] === k).map((p) => [p[0] + p[1] * 1000, p[1]]);
  const line = (col: 1 | 2 | 3) => m.pcdCycles.map((cy) => [cy[0], cy[col]]);
  const names = [t('arrivalOnRed'), t('arrivalOnGreen'), t('arrivalOnYellow'), t('greenStart'), t('yellowStart'), t('cycleEnd')];
  return {
    ...base(t, names),
    yAxis: { type: 'value', name: t('inCycleAxis'), min: 0 },
    series: [
      { type: 'scatter', name: names[0], data: on(0), symbolSize: 4, color: '#1b1f23', large: true },
      { type: 'scatter', name: names[1], data: on(1), symbolSize: 4, color: '#1a7f37', large: true },
      { type: 'scatter', name: names[2], data: on(2), symbolSize: 4, color: '#bf8700', large: true },
      { type: 'line', name: names[3], data: line(1), showSymbol: false, color: '#2ca02c', step: 'end' },
      { type: 'line', name: names[4], data: line(2), showSymbol: false, color: '#f2c400', step: 'end' },
      { type: 'line', name: names[5], data: line(3), showSymbol: false, color: '#cf222e', step: 'end' },
    ],
  };
}

/** Split monitor: each cycle's split, by how the green ended; the plan's split as a line. */
export function splitOption(m: PhaseMeasures, t: T): EChartsCoreOption {
  const kinds: [number, string, string][] = [
    [4, t('gapOut'), '#1a7f37'],
    [5, t('maxOut'), '#cf222e'],
    [6, t('forceOff'), '#0969da'],
    [0, t('unreported'), '#57606a'],
  ];
  return {
    ...base(
      t,
      kinds.map((k) => k[1]),
    ),
    yAxis: { type: 'value', name: t('splitAxis'), min: 0 },
    series: kinds.map(([code, name, color], k) => ({
      type: 'scatter',
      name,
      color,
      symbolSize: 7,
      data: m.splits.filter((s) => s[2] === code).map((s) => [s[0], s[1]]),
      markLine: k === 0 ? { symbol: 'none', silent: true, lineStyle: { color: '#12355b', type: 'dashed' }, label: { formatter: t('plannedSplit', { s: r1(m.plannedSplitS) }), position: 'insideEndTop' }, data: [{ yAxis: m.plannedSplitS }] } : undefined,
    })),
  };
}

/** Split failures: per cycle the stop-line occupancy in green and in the first seconds of red; failures (both over the threshold) marked. */
export function occupancyOption(m: PhaseMeasures, thresholdPct: number, t: T): EChartsCoreOption {
  const names = [t('greenOccupancy'), t('redOccupancy'), t('splitFailure')];
  return {
    ...base(t, names),
    yAxis: { type: 'value', name: t('occupancyAxis'), min: 0, max: 100 },
    series: [
      { type: 'scatter', name: names[0], color: '#2ca02c', symbolSize: 6, data: m.occupancy.map((o) => [o[0], o[1]]), markLine: { symbol: 'none', silent: true, lineStyle: { color: '#a40e26', type: 'dashed' }, label: { formatter: t('threshold', { pct: thresholdPct }), position: 'insideEndTop' }, data: [{ yAxis: thresholdPct }] } },
      { type: 'scatter', name: names[1], color: '#cf222e', symbolSize: 6, data: m.occupancy.map((o) => [o[0], o[2]]) },
      { type: 'scatter', name: names[2], color: '#1b1f23', symbol: 'triangle', symbolSize: 11, data: m.occupancy.filter((o) => o[3] === 1).map((o) => [o[0], Math.max(o[1], o[2])]) },
    ],
  };
}
