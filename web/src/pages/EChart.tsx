/**
 * One ECharts instance on a labelled div, for the network and intersection
 * pages: `option` replaces the chart (notMerge), `live` is merged on top of
 * it whenever it changes (a cursor, lamp colours), a click on an item is
 * passed on, and the box's size is followed. `data-rendered` counts the
 * drawings ECharts finished, so the browser test can wait for one.
 */
import type { EChartsCoreOption } from 'echarts';
import { useEffect, useRef } from 'preact/hooks';
import { echarts } from '../tsdChart.js';

export interface EChartClick {
  readonly seriesId?: string;
  readonly dataIndex: number;
  readonly data: unknown;
}

export function EChart(props: { option: EChartsCoreOption; live?: EChartsCoreOption | undefined; label: string; class: string; onClick?: (e: EChartClick) => void; attrs?: Readonly<Record<string, string | number>> }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<typeof echarts.init> | undefined>(undefined);
  const click = useRef(props.onClick);
  click.current = props.onClick;

  useEffect(() => {
    const el = box.current!;
    const c = echarts.init(el, undefined, { renderer: 'canvas' });
    chart.current = c;
    let drawn = 0;
    c.on('finished', () => {
      el.dataset['rendered'] = String(++drawn);
    });
    c.on('click', (p) => click.current?.({ ...(p.seriesId !== undefined ? { seriesId: p.seriesId } : {}), dataIndex: p.dataIndex, data: p.data }));
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(props.option, { notMerge: true });
    if (props.live) chart.current?.setOption(props.live);
  }, [props.option]);

  useEffect(() => {
    if (props.live) chart.current?.setOption(props.live);
  }, [props.live]);

  const data = Object.fromEntries(Object.entries(props.attrs ?? {}).map(([k, v]) => [`data-${k}`, String(v)]));
  return <div ref={box} class={props.class} role="img" aria-label={props.label} {...data} />;
}
