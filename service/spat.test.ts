/**
 * SPaT as the service reports it (service/spat.ts, from the TSP controller's
 * schedule) against the lamps of the one cycle runner on the same base plan:
 * they must agree at every instant. Moved here from engine/priority, which may
 * not import the service.
 */
import { describe, expect, test } from 'vitest';
import { demo } from '../test/fixtures/grpc/demo.js';
import { TspController } from '../engine/priority/tsp.js';
import { priorityConfig } from '../engine/priority/policy.js';
import { CycleRunner } from '../engine/runner/cycleRunner.js';
import { intersectionSpat } from './spat.js';

describe('SPaT', () => {
  test('SPaT state equals the cycle runner’s lamps on the base plan', () => {
    const { c, plan } = demo();
    const tsp = new TspController(c, plan.buffer, priorityConfig());
    const heads = new CycleRunner(c, plan.buffer, 0);
    for (let k = 0; k < 570; k++) {
      const t = k * 0.7 + 0.013; // off the 0.1 s grid, so float rounding at phase boundaries cannot differ
      heads.update(t);
      for (let i = 0; i < c.intersectionCount; i++) {
        const s = intersectionSpat(c, tsp, i, t);
        expect(s.greenMask, `${c.intersectionIds[i]} at ${t}`).toBe(heads.greenMask[i]);
        expect(s.yellowMask, `${c.intersectionIds[i]} yellow at ${t}`).toBe(heads.yellowMask[i]);
      }
    }
  });
});
