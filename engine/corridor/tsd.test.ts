/**
 * The time-space diagram of the demo corridor carries what an engineer reads
 * off it: yellow and all-red after every through green, at their lengths;
 * the progression speed on each link of each band; a tick at every local
 * cycle zero; and CJK fonts for the Chinese names.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { demandFor, prepareCounts } from '../demand.js';
import { planNetwork } from '../plan.js';
import { renderTimeSpaceSvg } from './tsd.js';

const ROOT = new URL('../../examples/demo-city/', import.meta.url);

describe('renderTimeSpaceSvg', () => {
  const c = compileNetwork(loadNetwork(readFileSync(new URL('network.json', ROOT), 'utf8')));
  const demand = demandFor(prepareCounts(c, readFileSync(new URL('counts.csv', ROOT), 'utf8'), 'counts.csv'), '10:00');
  const plan = planNetwork(c, demand.volumeVeh, demand.intervalS).corridors[0]!;
  const svg = renderTimeSpaceSvg(plan);
  const rects = (fill: string) => [...svg.matchAll(new RegExp(`<rect x="([-\\d.]+)" y="[-\\d.]+" width="([-\\d.]+)" height="4" fill="${fill}"/>`, 'g'))].map((m) => ({ x: Number(m[1]), w: Number(m[2]) }));

  it('draws yellow and all-red after each through green, at their lengths', () => {
    const pxPerS = (1100 - 230 - 30) / (3 * plan.cycleS);
    const greens = rects('#2ca02c');
    const yellows = rects('#f2c400');
    expect(yellows.length).toBe(greens.length);
    // Every yellow starts where a green ends.
    for (const yl of yellows) expect(greens.some((g) => Math.abs(g.x + g.w - yl.x) < 0.15)).toBe(true);
    const widths = new Set(plan.intersections.flatMap((m) => [m.outClearance.yellowS, m.inClearance.yellowS]).map((s) => Math.round(s * pxPerS * 10) / 10));
    for (const yl of yellows) expect([...widths].some((w) => Math.abs(w - yl.w) < 0.15)).toBe(true);
    for (const m of plan.intersections) expect(m.outClearance.yellowS).toBeGreaterThanOrEqual(3);
    if (plan.intersections.some((m) => m.outClearance.allRedS > 0)) expect(rects('#7f0000').length).toBeGreaterThan(0);
  });

  it('writes the progression speed of each link on each band, and ticks every local cycle zero', () => {
    const bands = (plan.refined.bandOutS > 0.05 ? 1 : 0) + (plan.refined.bandInS > 0.05 ? 1 : 0);
    expect(svg.match(/ km\/h<\/text>/g)?.length).toBe(bands * (plan.intersections.length - 1));
    expect(svg).toContain(`>${plan.progressionKph.out[0]} km/h<`);
    const ticks = svg.match(/<path d="M[^"]+ Z" fill="#222"\/>/g)?.length ?? 0;
    expect(ticks).toBeGreaterThanOrEqual(plan.intersections.length * 4);
    expect(svg).toContain('local cycle zero (offset reference)');
  });

  it('names CJK fonts, so that 人民路 renders', () => {
    expect(svg).toMatch(/font-family="[^"]*'Noto Sans CJK SC'[^"]*'WenQuanYi Micro Hei'/);
    expect(svg).toContain('人民路');
  });
});
