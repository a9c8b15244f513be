/**
 * The 95th-percentile back of queue against values worked by hand, and the
 * storage of the demo city's approaches against its link lengths.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { approachStorageM, backOfQueue95, type BackOfQueue } from './queue.js';
import { parseNetworkText } from '../network/validate.js';

const q = (): BackOfQueue => ({ veh: -1, overCapacity: true });

describe('backOfQueue95', () => {
  it('matches the uniform-arrival queue of a 95th-percentile cycle worked by hand', () => {
    // 600 veh/h on a lane of 1800 veh/h saturation flow with half the cycle green, C = 90 s:
    // N = 15 per cycle, N95 = 15 + 1.645·√15 = 21.371, q95 = 0.23746 veh/s, s = 0.5 veh/s, r = 45 s;
    // back of queue = 0.23746·45 / (1 − 0.23746/0.5) = 20.35 vehicles; 22.5 served per cycle, so no residual.
    const r = backOfQueue95(600, 1800, 900, 90, q());
    expect(r.veh).toBeCloseTo(20.35, 1);
    expect(r.overCapacity).toBe(false);
  });

  it('reports the two-cycle maximum and flags it when the 95th-percentile cycle is over capacity', () => {
    // 850 veh/h, same lane: N = 21.25, N95 = 28.833 > 22.5 served, residual 6.333;
    // q95 = 0.32037 veh/s: (6.333 + 0.32037·45) / (1 − 0.64074) = 57.76 vehicles.
    const r = backOfQueue95(850, 1800, 900, 90, q());
    expect(r.veh).toBeCloseTo(57.76, 1);
    expect(r.overCapacity).toBe(true);
  });

  it('has no bound when demand exceeds the saturation flow, and no queue without demand', () => {
    expect(backOfQueue95(2000, 1800, 900, 90, q()).veh).toBe(Number.POSITIVE_INFINITY);
    const none = backOfQueue95(0, 1800, 900, 90, q());
    expect(none.veh).toBe(0);
    expect(none.overCapacity).toBe(false);
  });

  it('grows with the flow and with the red', () => {
    let last = 0;
    for (let flow = 100; flow <= 800; flow += 100) {
      const v = backOfQueue95(flow, 1800, 900, 90, q()).veh;
      expect(v).toBeGreaterThan(last);
      last = v;
    }
    expect(backOfQueue95(400, 1800, 600, 90, q()).veh).toBeGreaterThan(backOfQueue95(400, 1800, 900, 90, q()).veh);
  });
});

describe('approachStorageM', () => {
  it('takes each approach fed by an upstream signal from the length of the link into it', () => {
    const parsed = parseNetworkText(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8'), 'demo');
    if (!parsed.ok) throw new Error('demo network invalid');
    const net = parsed.network;
    const i2 = approachStorageM(net, 'I2');
    const fromI1 = net.links.find((l) => l.from === 'I1' && l.to === 'I2')!;
    const fromI3 = net.links.find((l) => l.from === 'I3' && l.to === 'I2')!;
    expect(i2.get('EB')).toBe(fromI1.lengthM);
    expect(i2.get('WB')).toBe(fromI3.lengthM);
    // Side streets come from outside the modelled network: no known storage.
    expect(i2.has('NB')).toBe(false);
    expect(approachStorageM(net, 'I1').has('EB')).toBe(false);
  });
});
