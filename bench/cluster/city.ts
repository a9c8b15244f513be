/**
 * The benchmark's city as a full network file: test/fixtures/cityLayout.ts's generated layout
 * (districts of street grids 2 km apart, row corridors and some column corridors, signals on
 * no corridor) with, at every signal, the two-stage four-approach intersection of
 * test/fixtures/gridNetwork.ts (two lanes and two stop-line detectors per approach). Used by
 * bench/cluster/run.ts; same size and seed, same city. The layout's column corridors are left
 * out: they cross row corridors that claim their crossing signals, which leaves the planner
 * consecutive members without a link (the layout was made for regions, not for planning).
 */
import { cityLayout } from '../../test/fixtures/cityLayout.js';
import { twoStageIntersectionJson } from '../../test/fixtures/gridNetwork.js';

const SPEED_KPH = 50;

export function cityNetworkJson(signals: number, seed = 19): object {
  const layout = cityLayout({ signals, seed });
  const intersections = layout.intersections.map(({ id: x, position }) => twoStageIntersectionJson(x, position, { speedKph: SPEED_KPH, minGreenS: 5 }));
  const links = layout.links.map((l) => ({ ...l, designSpeedKph: SPEED_KPH }));
  return { formatVersion: 1, name: `generated city of ${intersections.length} signals (seed ${seed})`, intersections, links, corridors: layout.corridors.filter((c) => !c.id.includes('col')), defaults: { minCycleS: 40 } };
}
