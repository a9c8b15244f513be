/**
 * The time-space diagram component: an ECharts instance on a div, given new
 * data by setOption (nothing merged from the previous plan), resized with its
 * box. Marks `gw:tsd-rendered` (Performance API) each time ECharts has drawn,
 * and calls `onRendered`, so the page and the browser test can time it.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { LiveSignals, TimeSpaceData } from '../api.js';
import type { T } from '../i18n.js';
import { echarts, nowOption, timeSpaceOption } from '../tsdChart.js';

export function TimeSpaceChart(props: { data: TimeSpaceData; t: T; live?: LiveSignals | undefined; onRendered?: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<typeof echarts.init> | undefined>(undefined);
  const rendered = useRef(props.onRendered);
  const pending = useRef(false);
  rendered.current = props.onRendered;

  useEffect(() => {
    const c = echarts.init(box.current!, undefined, { renderer: 'canvas' });
    chart.current = c;
    c.on('finished', () => {
      // Only a new plan's drawing counts, not the "now" line moving.
      if (!pending.current) return;
      pending.current = false;
      performance.mark('gw:tsd-rendered');
      rendered.current?.();
    });
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(box.current!);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    pending.current = true;
    chart.current?.setOption(timeSpaceOption(props.data, props.t), { notMerge: true });
  }, [props.data, props.t]);

  // The "now" line moves with the live signal state: merged, so nothing else is redrawn from scratch.
  useEffect(() => {
    if (props.live) chart.current?.setOption(nowOption(props.data, props.live.tS, props.t));
  }, [props.live, props.data, props.t]);

  const label = props.t('diagramLabel', { name: props.data.name, n: props.data.signals.length });
  return <div ref={box} class="tsd" role="img" aria-label={label} data-signals={props.data.signals.length} data-band-out={props.data.bands?.out.widthS.toFixed(1)} data-offsets={props.data.signals.map((s) => `${s.id}:${s.offsetS.toFixed(1)}`).join(' ')} />;
}
