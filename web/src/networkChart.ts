/**
 * The network schematic as an ECharts option (a graph series laid out by the
 * network file's positions, no map tiles): each intersection a node at its
 * position (lon/lat to metres east and north of the network's centre, so the
 * drawing keeps its proportions), coloured by its detectors' health as the
 * planner saw it; each link a line; and at each node one small square per
 * approach, on the side the traffic comes from, lit as that approach's through
 * movement is now (from the live SPaT). The colours are graph categories, so
 * the legend explains them. ECharts draws; this module only says where.
 * Used by the network page (./pages/Network.tsx).
 */
import type { EChartsCoreOption } from 'echarts';
import { GraphChart } from 'echarts/charts';
import type { HealthHead, Lamp, MapIntersection, NetworkMap, NetworkHealth, SignalState } from './api.js';
import type { MessageKey, T } from './i18n.js';
import { echarts } from './tsdChart.js';

echarts.use([GraphChart]);

/** Approach squares' distance from the node, m of the drawing. */
const ARM_M = 70;
const M_PER_DEG_LAT = 110_540;
/** Wider than this (width / height), the schematic spans the chart's width; else its height. */
const WIDE_ASPECT = 2.5;

export type Health = 'healthy' | 'repaired' | 'fallback';
export const HEALTH_COLORS: Readonly<Record<Health, string>> = { healthy: '#12355b', repaired: '#bf8700', fallback: '#a40e26' };
export const LAMP_COLORS: Readonly<Record<Lamp | 'unknown', string>> = { protected: '#1a7f37', permitted: '#7ccf8a', clearance: '#f2c400', stop: '#cf222e', unknown: '#8c959f' };
const CATEGORIES: readonly [Health | Lamp | 'unknown', MessageKey][] = [
  ['healthy', 'hl_healthy'],
  ['repaired', 'hl_repaired'],
  ['fallback', 'hl_fallback'],
  ['protected', 'lm_protected'],
  ['permitted', 'lm_permitted'],
  ['clearance', 'lm_clearance'],
  ['stop', 'lm_stop'],
];
/** Where an approach's traffic comes from, as a unit step in the drawing (x east, y down). */
const SIDE: Readonly<Record<string, readonly [number, number]>> = { NB: [0, 1], SB: [0, -1], EB: [-1, 0], WB: [1, 0] };

/** "phases 2 6 green, 40 s into a 120 s cycle", or that none is green (a change interval). */
export function signalNow(s: SignalState, t: T): string {
  const at = { t: s.cycleTimeS.toFixed(0), cycle: s.cycleS.toFixed(0) };
  return s.greenPhaseIds.length > 0 ? t('signalNow', { phases: s.greenPhaseIds.join(' '), ...at }) : t('signalNoGreen', at);
}

/** Where the detector health shown comes from, in one sentence: collected counts, or the planner's view and why. */
export function healthSource(h: HealthHead, t: T): string {
  const file = { at: h.forInterval, from: h.windowFrom, to: h.windowTo };
  if (h.source === 'collected') return t('healthLive', { from: h.windowFrom, to: h.windowTo, s: h.intervalS, n: h.checkedIntervals ?? 0, checked: h.checkedFrom ?? '' });
  if (h.fallbackReason === 'NO_COUNTS') return t('healthNoCounts', { n: h.checkIntervals, ...file });
  if (h.fallbackReason === 'NO_STORAGE') return t('healthNoStorage', file);
  return t('healthWindow', file);
}

/** The map with the detector health of a `health` event put in. */
export function withHealth(map: NetworkMap, h: NetworkHealth): NetworkMap {
  const by = new Map(h.intersections.map((x) => [x.id, x]));
  return { ...map, forInterval: h.head.forInterval, healthWindow: { from: h.head.windowFrom, to: h.head.windowTo }, health: h.head, intersections: map.intersections.map((ix) => ({ ...ix, ...by.get(ix.id) })) };
}

export function healthOf(ix: MapIntersection): Health {
  return ix.fallback ? 'fallback' : ix.unhealthyDetectors > 0 || ix.substitutedDetectors > 0 ? 'repaired' : 'healthy';
}

/** The lamp of an approach: its through movement's, else the most open of its movements. */
export function approachLamp(s: SignalState | undefined, approach: string): Lamp | 'unknown' {
  if (!s) return 'unknown';
  const through = s.movements[`${approach}T`];
  if (through) return through;
  const order: Lamp[] = ['protected', 'permitted', 'clearance', 'stop'];
  const lamps = Object.entries(s.movements)
    .filter(([m]) => m.startsWith(approach))
    .map(([, l]) => l);
  return order.find((l) => lamps.includes(l)) ?? 'unknown';
}

/**
 * Where the schematic puts each intersection (metres east and south of the network's centre)
 * and the box the graph series fills: ECharts keeps the drawing's proportions when one side of
 * the box is left free, so a wide network fills the width, a compact one the height. Shared with
 * the traffic map (./trafficChart.ts).
 */
export function schematicFrame(map: NetworkMap): { at: (x: MapIntersection) => [number, number]; box: Record<string, number | string> } {
  const lat0 = map.intersections.reduce((s, x) => s + x.lat, 0) / map.intersections.length;
  const lon0 = map.intersections.reduce((s, x) => s + x.lon, 0) / map.intersections.length;
  const mPerDegLon = M_PER_DEG_LAT * Math.cos((lat0 * Math.PI) / 180);
  const at = (x: MapIntersection): [number, number] => [(x.lon - lon0) * mPerDegLon, -(x.lat - lat0) * M_PER_DEG_LAT];
  const xs = map.intersections.map((x) => at(x)[0]);
  const ys = map.intersections.map((x) => at(x)[1]);
  const aspect = (Math.max(...xs) - Math.min(...xs) + 2 * ARM_M) / (Math.max(...ys) - Math.min(...ys) + 2 * ARM_M);
  const box: Record<string, number | string> = aspect > WIDE_ASPECT ? { left: 40, right: 40, top: 'middle' } : { top: 44, bottom: 34, left: 'center' };
  return { at, box };
}

export function networkOption(map: NetworkMap, live: ReadonlyMap<string, SignalState>, t: T): EChartsCoreOption {
  const { at, box } = schematicFrame(map);
  const category = (k: Health | Lamp | 'unknown'): number => CATEGORIES.findIndex(([c]) => c === k);
  const nodes: object[] = [];
  for (const ix of map.intersections) {
    const [x, y] = at(ix);
    const s = live.get(ix.id);
    nodes.push({
      id: ix.id,
      name: ix.id,
      x,
      y,
      symbolSize: 18,
      category: category(healthOf(ix)),
      label: { show: true, position: 'bottom', distance: 12, formatter: ix.id, fontWeight: 'bold' },
      tooltip: {
        formatter: [
          `<b>${escapeHtml(ix.name || ix.id)}</b>`,
          t(`hl_${healthOf(ix)}`),
          t('detectorsSummary', { n: ix.detectors, bad: ix.unhealthyDetectors, repaired: ix.substitutedDetectors }),
          s ? signalNow(s, t) : '',
        ]
          .filter((line) => line !== '')
          .join('<br/>'),
      },
    });
    for (const a of ix.approaches) {
      const [dx, dy] = SIDE[a] ?? [0, 0];
      const lamp = approachLamp(s, a);
      nodes.push({ id: `${ix.id}:${a}`, name: `${ix.id} ${a}`, x: x + dx * ARM_M, y: y + dy * ARM_M, symbol: 'rect', symbolSize: 9, category: lamp === 'unknown' ? undefined : category(lamp), itemStyle: lamp === 'unknown' ? { color: LAMP_COLORS.unknown } : undefined, label: { show: false }, tooltip: { formatter: `${ix.id} ${a}: ${t(lamp === 'unknown' ? 'lm_unknown' : `lm_${lamp}`)}` } });
    }
  }
  // One line per pair of linked intersections (links come in both directions).
  const seen = new Set<string>();
  const edges: object[] = [];
  for (const l of map.links) {
    const key = [l.from, l.to].sort().join('|');
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push({ source: l.from, target: l.to, tooltip: { formatter: t('linkTip', { from: l.from, to: l.to, m: l.lengthM, kph: l.speedKph }) } });
  }
  return {
    animationDurationUpdate: 200,
    tooltip: { trigger: 'item', confine: true },
    legend: { top: 4, data: CATEGORIES.map(([, k]) => t(k)), selectedMode: false },
    series: [
      {
        id: 'network',
        type: 'graph',
        layout: 'none',
        roam: true,
        ...box,
        categories: CATEGORIES.map(([c, k]) => ({ name: t(k), itemStyle: { color: c in HEALTH_COLORS ? HEALTH_COLORS[c as Health] : LAMP_COLORS[c as Lamp] }, symbol: c in HEALTH_COLORS ? 'circle' : 'rect' })),
        data: nodes,
        links: edges,
        lineStyle: { color: '#8c959f', width: 4, opacity: 0.9 },
        itemStyle: { borderColor: '#fff', borderWidth: 1 },
        emphasis: { focus: 'none', scale: 1.4 },
      },
    ],
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
}
