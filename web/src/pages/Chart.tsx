/**
 * The time-space diagram component: an ECharts instance on a div, given new
 * data by setOption (every series replaced, nothing kept from the previous
 * plan's), resized with its
 * box. `status` says what the data is (the plan in force, an edit's preview
 * not yet checked, a checked edit, the plan in force back after a refusal): the
 * box carries it (a preview is drawn dimmed, see styles.css). Marks
 * `gw:tsd-rendered` (Performance API) each time ECharts has drawn, and calls
 * `onRendered` with the status drawn, so the page and the browser test can time it.
 */
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import type { LiveSignals, TimeSpaceData } from '../api.js';
import type { T } from '../i18n.js';
import { echarts, nowOption, timeSpaceOption } from '../tsdChart.js';

export type DiagramStatus = 'base' | 'pending' | 'valid' | 'refused';

export function TimeSpaceChart(props: { data: TimeSpaceData; status: DiagramStatus; t: T; live?: LiveSignals | undefined; onRendered?: (status: DiagramStatus) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<typeof echarts.init> | undefined>(undefined);
  const rendered = useRef(props.onRendered);
  const pending = useRef<DiagramStatus | undefined>(undefined);
  rendered.current = props.onRendered;

  const latest = useRef(props);
  latest.current = props;

  // Layout effects, not effects: a new plan is handed to ECharts as soon as the page has rendered,
  // not after the browser's next paint (Preact runs effects a frame later), so ECharts draws it on
  // the next frame rather than the one after.
  useLayoutEffect(() => {
    const c = echarts.init(box.current!, undefined, { renderer: 'canvas' });
    chart.current = c;
    c.on('finished', () => {
      // Only a new plan's drawing counts, not the "now" line moving.
      const drawn = pending.current;
      if (drawn === undefined) return;
      pending.current = undefined;
      performance.mark('gw:tsd-rendered');
      rendered.current?.(drawn);
    });
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(box.current!);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = undefined;
    };
  }, []);

  useLayoutEffect(() => {
    pending.current = props.status;
    const t0 = performance.now();
    // Only the series are replaced: ECharts keeps the grid, axes, legend and tooltip and merges their
    // new settings, instead of building them again (in two A/B pairs of bench:console under load
    // 12–15, setOption's median on 20 signals was 27–38 ms this way, 49–60 ms with notMerge).
    chart.current?.setOption(timeSpaceOption(props.data, props.t, latest.current.live?.tS), { replaceMerge: ['series'] });
    // ECharts' own share of a redraw, before it paints on the next frame (bench/console).
    performance.measure('gw:tsd-setoption', { start: t0 });
  }, [props.data, props.status, props.t]);

  // The "now" line moves with the live signal state: merged, so nothing else is redrawn from scratch.
  useEffect(() => {
    const p = latest.current;
    if (p.live) chart.current?.setOption(nowOption(p.data, p.live.tS, p.t));
  }, [props.live]);

  const label = props.t('diagramLabel', { name: props.data.name, n: props.data.signals.length });
  return <div ref={box} class="tsd" role="img" aria-label={label} data-status={props.status} data-signals={props.data.signals.length} data-band-out={props.data.bands?.out.widthS.toFixed(1)} data-offsets={props.data.signals.map((s) => `${s.id}:${s.offsetS.toFixed(1)}`).join(' ')} data-windows={props.data.signals.map((s) => `${s.id}:${s.cycleS.toFixed(1)}/${s.out.startS.toFixed(1)}+${s.out.greenS.toFixed(1)}/${s.in.startS.toFixed(1)}+${s.in.greenS.toFixed(1)}`).join(' ')} />;
}
