/**
 * The traffic map as an ECharts option: the network schematic's intersections
 * (./networkChart.ts schematicFrame, positions from the network file) and one
 * line per road section between two of them, each direction its own curve,
 * coloured by its GB/T 33171 congestion level (the colours of Chinese
 * guidance screens and navigation maps: green, light green, yellow, orange,
 * red; grey without traffic). Sections from outside the network (side
 * streets) are in the page's table only. Used by ./pages/Traffic.tsx.
 */
import type { EChartsCoreOption } from 'echarts';
import type { CongestionLevel, NetworkMap, TrafficLink } from './api.js';
import type { MessageKey, T } from './i18n.js';
import { escapeHtml, schematicFrame } from './networkChart.js';

export const LEVEL_COLORS: Readonly<Record<CongestionLevel | 'none', string>> = { 0: '#1a7f37', 1: '#7ccf8a', 2: '#f2c400', 3: '#e8710a', 4: '#cf222e', none: '#8c959f' };
const LEVELS: readonly (CongestionLevel | 'none')[] = [0, 1, 2, 3, 4, 'none'];

export const levelKey = (level: CongestionLevel | null): MessageKey => (level === null ? 'lv_none' : `lv_${level}`);

export function trafficOption(map: NetworkMap, links: readonly TrafficLink[], t: T): EChartsCoreOption {
  const { at, box } = schematicFrame(map);
  const nodes = map.intersections.map((ix) => {
    const [x, y] = at(ix);
    return { id: ix.id, name: ix.id, x, y, symbolSize: 12, category: LEVELS.length, itemStyle: { color: '#12355b' }, label: { show: true, position: 'bottom', distance: 8, formatter: ix.id }, tooltip: { formatter: `<b>${escapeHtml(ix.name || ix.id)}</b>` } };
  });
  const edges = links
    .filter((l) => l.from !== null)
    .map((l) => ({
      source: l.from,
      target: l.to,
      lineStyle: { color: LEVEL_COLORS[l.level ?? 'none'], width: 6, curveness: 0.15, opacity: 1 },
      tooltip: { formatter: t('tfLinkTip', { link: l.id, tt: l.travelTimeS.toFixed(0), delay: l.signalDelayS.toFixed(0), kph: l.travelSpeedKph === null ? '—' : l.travelSpeedKph.toFixed(0), tpi: l.tpi === null ? '—' : l.tpi.toFixed(1), level: t(levelKey(l.level)) }) },
    }));
  return {
    animationDurationUpdate: 200,
    tooltip: { trigger: 'item', confine: true },
    // The levels as legend entries: categories with no node, shown for their colour.
    legend: { top: 4, data: LEVELS.map((l) => t(l === 'none' ? 'lv_none' : `lv_${l}`)), selectedMode: false },
    series: [
      {
        id: 'traffic',
        type: 'graph',
        layout: 'none',
        roam: true,
        ...box,
        categories: [...LEVELS.map((l) => ({ name: t(l === 'none' ? 'lv_none' : `lv_${l}`), itemStyle: { color: LEVEL_COLORS[l] } })), { name: '' }],
        data: nodes,
        links: edges,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 7,
        itemStyle: { borderColor: '#fff', borderWidth: 1 },
        emphasis: { focus: 'none' },
      },
    ],
  };
}
