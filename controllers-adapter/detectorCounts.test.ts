import { describe, expect, it } from 'vitest';
import { DetectorCountAccumulator } from './detectorCounts.js';
import type { DetectorPoll } from './modbus/client.js';
import { cleanCounts, detectorTopology } from '../engine/counts/faults.js';
import { demoNetwork } from '../test/fixtures/controllers/demo.js';

const poll = (unitId: number, ids: string[], volumes: number[], extra: Partial<DetectorPoll> = {}): DetectorPoll =>
  ({ unitId, seq: 1, missedPolls: 0, first: false, restarted: false, detectorIds: ids, volumes, occupancyPct: volumes.map((v) => v / 2), status: {} as DetectorPoll['status'], ...extra }) as DetectorPoll;

describe('detector polls become engine counts', () => {
  it('sums volumes per interval and averages occupancy', () => {
    const acc = new DetectorCountAccumulator(['a', 'b'], 60);
    acc.add(poll(1, ['a', 'b'], [3, 4]));
    acc.add(poll(1, ['a', 'b'], [5, 6]));
    acc.closeInterval(0);
    const c = acc.counts();
    expect(Array.from(c.volumeVeh)).toEqual([8, 10]);
    expect(Array.from(c.occupancyPct)).toEqual([2, 2.5]);
  });

  it('marks a controller with lost polls missing, and the engine substitutes and reports it', () => {
    const c = demoNetwork();
    const topo = detectorTopology(c.network);
    const acc = new DetectorCountAccumulator(topo.detectorIds, 900);
    const ids = c.network.intersections[0]!.detectors.map((d) => d.id);
    for (let t = 0; t < 4; t++) {
      acc.add(poll(1, ids, ids.map(() => 100), t === 2 ? { missedPolls: 3 } : {}));
      acc.closeInterval(Date.UTC(2026, 0, 1) + t * 900_000);
    }
    expect(acc.gaps).toEqual([{ unitId: 1, missedPolls: 3, restarted: false }]);
    const counts = acc.counts();
    const k = topo.detectorIds.indexOf(ids[0]!);
    expect(Number.isNaN(counts.volumeVeh[2 * topo.detectorIds.length + k]!)).toBe(true);
    const report = cleanCounts(counts, topo);
    expect(report.substitutions.some((s) => s.detectorId === ids[0] && s.fault === 'missing')).toBe(true);
    expect(Number.isNaN(report.cleaned.volumeVeh[2 * topo.detectorIds.length + k]!)).toBe(false);
  });
});
