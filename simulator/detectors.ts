/**
 * Loop detectors in the simulator: which loops lie in each lane, counts of
 * front passages and occupancy (accumulated by the car-following step,
 * idm.ts, as it moves each vehicle), faults (what a
 * loop reports, not what traffic does), the actuated heads' calls, and the
 * closed intervals in the engine's counts shape. Called once a step or an
 * interval by `Simulation` (simulation.ts).
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { DetectorCounts } from '../engine/counts/csv.js';
import type { SimTopology } from './topology.js';
import type { SignalHeads } from './signals.js';
import type { SimState } from './vehicles.js';

export type DetectorFault = 'dead' | 'stuckOn' | 'chatter';
/** A loop's fault as the step loop stores it (a typed array of these; 0 = healthy). */
export const FAULT = { none: 0, dead: 1, stuckOn: 2, chatter: 3 } as const satisfies Record<DetectorFault | 'none', number>;

/** Loop length along the lane, m: a body covers the loop from its front reaching it until its rear clears it. */
export const LOOP_LENGTH_M = 2.0;
/** Simulation clock zero, for the counts' timestamps. */
const EPOCH_MS = Date.UTC(2026, 0, 1);

/** The loops of lane l: `laneDets[laneDetStart[l] .. laneDetStart[l + 1])`, fixed for a run. */
export interface LoopLayout {
  readonly laneDetStart: Int32Array;
  readonly laneDets: Int32Array;
  readonly detectorPosM: Float64Array;
}

export function loopLayout(c: CompiledNetwork, top: SimTopology): LoopLayout {
  const lanes = c.laneIds.length;
  const perLane: number[][] = Array.from({ length: lanes }, () => []);
  for (let d = 0; d < c.detectorIds.length; d++) perLane[top.detectorLane[d]!]!.push(d);
  const laneDetStart = new Int32Array(lanes + 1);
  const flat: number[] = [];
  perLane.forEach((ds, l) => {
    laneDetStart[l] = flat.length;
    flat.push(...ds);
  });
  laneDetStart[lanes] = flat.length;
  return { laneDetStart, laneDets: Int32Array.from(flat), detectorPosM: top.detectorPosM };
}

/** End of a step: loops covered during it add the step to their occupancy time. */
export function accumulateOccupancy(s: SimState, dt: number): void {
  const nd = s.detOccupied.length;
  for (let d = 0; d < nd; d++) {
    if (s.detOccupied[d] === 1) s.detOccS[d] = s.detOccS[d]! + dt;
    s.detOccupied[d] = 0;
  }
}

/** Actuated heads: every loop covered this step (as its fault makes it report) actuates its lane's phase. */
export function feedHeads(c: CompiledNetwork, top: SimTopology, s: SimState, signals: SignalHeads, t: number): void {
  const lanes = top.detectorLane;
  for (let d = 0; d < s.detOccupied.length; d++) {
    const fault = s.detFault[d]!;
    if (fault === FAULT.dead || (fault !== FAULT.stuckOn && s.detOccupied[d] === 0)) continue;
    const p = c.lanePhase[lanes[d]!]!;
    if (p >= 0) signals.actuate(p, t);
  }
}

/** Closes the running interval at the state's clock: what each loop reports (faults applied) becomes a row. */
export function closeInterval(s: SimState): void {
  const nd = s.detCount.length;
  const volume = new Float64Array(nd);
  const occupancy = new Float64Array(nd);
  const span = s.tS - s.intervalStartS;
  for (let d = 0; d < nd; d++) {
    let vol = s.detCount[d]!;
    let occ = (100 * s.detOccS[d]!) / span;
    switch (s.detFault[d]) {
      case FAULT.dead:
        vol = 0;
        occ = 0;
        break;
      case FAULT.stuckOn:
        vol = 0;
        occ = 100;
        break;
      case FAULT.chatter:
        vol = vol * 3 + (2400 * span) / 3600;
        break;
    }
    volume[d] = vol;
    occupancy[d] = Math.min(100, occ);
    s.detCount[d] = 0;
    s.detOccS[d] = 0;
  }
  s.volumeRows.push(volume);
  s.occupancyRows.push(occupancy);
  s.intervalStartS = s.tS;
}

/** Detector counts of the closed intervals from `fromInterval` on, in the shape the engine's counts pipeline uses. */
export function detectorCounts(c: CompiledNetwork, s: SimState, intervalS: number, fromInterval: number): DetectorCounts {
  const nd = s.detCount.length;
  const rows = s.volumeRows.length - fromInterval;
  const volumeVeh = new Float64Array(rows * nd);
  const occupancyPct = new Float64Array(rows * nd);
  const intervalStartMs = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    volumeVeh.set(s.volumeRows[fromInterval + r]!, r * nd);
    occupancyPct.set(s.occupancyRows[fromInterval + r]!, r * nd);
    intervalStartMs[r] = EPOCH_MS + (fromInterval + r) * intervalS * 1000;
  }
  return { detectorIds: c.detectorIds, intervalS, intervalStartMs, volumeVeh, occupancyPct };
}
