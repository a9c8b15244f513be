/**
 * Times one corridor at one common cycle: double cycling where a lightly loaded
 * signal does better on half the cycle, splits re-timed for the cycle, the
 * widest weighted two-way band, offsets refined for delay and stops, and the
 * planner's score (`coordinate`); then writes and validates the chosen timing
 * and reports it (`finish`). Called for every cycle tried by the cycle search
 * (cycleSearch.ts) and for the chosen one by planCorridors (corridorPlan.ts).
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { Corridor } from '../network/schema.js';
import { IssueList, UnsafePlanError } from '../errors.js';
import { mod, round1, round3 } from '../numeric.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { planIntersection, type PlanBuffer, type PlanScratch } from '../timing/planner.js';
import { allocateSolution, BandMode, BandSolver, narrowestGreenS, type BandSolution } from './band.js';
import { buildBandProblem, type PreparedCorridor } from './bandProblem.js';
import type { CorridorIntersection, CorridorPlan, CorridorState } from './corridorPlan.js';
import { otherLanesDelay, throughIndex, travelApproaches } from './subsystems.js';
import { OffsetRefiner, type Performance } from './transyt.js';
import { applyPattern, windowClearance } from './windows.js';

/** Times the corridor at one common cycle: double cycling, splits, band, refinement, and a score. */
export function coordinate(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, indices: number[], cycleS: number, scratch: PlanScratch) {
  const n = indices.length;
  // With defaults.slackToCoordinatedPhases the through phases of both directions are the
  // coordinated phases, and the slack of the common cycle goes to them (planner.ts).
  if (c.network.defaults.slackToCoordinatedPhases) {
    const { outApproach, inApproach } = travelApproaches(c, indices);
    indices.forEach((i, k) => {
      const through = (1 << throughIndex(outApproach[k]!)) | (1 << throughIndex(inApproach[k]!));
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) buf.phaseCoordinated[p] = (c.phaseProtectedMask[p]! & through) !== 0 ? 1 : 0;
    });
  }
  const doubleCycled = indices.map((i) => {
    buf.forcedCycleS[i] = Number.NaN;
    planIntersection(c, i, buf, scratch);
    if (buf.cycleS[i]! > cycleS / 2 || buf.cycleLimitMinS[i]! > cycleS / 2) return false;
    buf.forcedCycleS[i] = cycleS / 2;
    planIntersection(c, i, buf, scratch);
    if (buf.cycleS[i] !== cycleS / 2) return false; // minimum times do not fit half the cycle
    const halfDelay = buf.delaySPerVeh[i]!;
    buf.forcedCycleS[i] = cycleS;
    planIntersection(c, i, buf, scratch);
    return halfDelay < buf.delaySPerVeh[i]!;
  });
  indices.forEach((i, k) => {
    buf.forcedCycleS[i] = doubleCycled[k] ? cycleS / 2 : cycleS;
    planIntersection(c, i, buf, scratch);
  });

  const prepared = buildBandProblem(c, buf, corridor, indices, cycleS, doubleCycled);
  const { problem, traffic } = prepared;
  const bands = new BandSolver(n);
  const refiner = new OffsetRefiner(n, Math.ceil(cycleS) + 1);

  // Uncoordinated reference: every signal starts its cycle at 0, pattern as programmed.
  const ref = allocateSolution(n);
  for (let k = 0; k < n - 1; k++) {
    ref.travelOutS[k] = 0.5 * (problem.travelOutMinS[k]! + problem.travelOutMaxS[k]!);
    ref.travelInS[k] = 0.5 * (problem.travelInMinS[k]! + problem.travelInMaxS[k]!);
  }
  bands.measure(problem, ref);
  const uncoordinated = state(ref, refiner.evaluate(problem, traffic, ref));

  const sol = bands.solve(problem, allocateSolution(n));
  const bandOutS = sol.bandOutS;
  const bandInS = sol.bandInS;
  const before: Performance = { delaySPerVeh: 0, stopsPerVeh: 0, index: 0 };
  const after = refiner.refine(problem, traffic, sol, bands, before);
  const bandState: CorridorState = { bandOutS, bandInS, delaySPerVeh: before.delaySPerVeh, stopsPerVeh: before.stopsPerVeh };
  // Score per hour: the arterial through movements by the platoon model (delay + stop penalty),
  // everything else by its HCM delay in the plan at this cycle.
  let others = 0;
  indices.forEach((i, k) => (others += otherLanesDelay(c, buf, i, (1 << throughIndex(prepared.outApproach[k]!)) | (1 << throughIndex(prepared.inApproach[k]!)))));
  const score = (after.index * 3600) / cycleS + others;
  return { prepared, sol, uncoordinated, bandState, after, bands, score };
}

function state(s: BandSolution, perf: Performance): CorridorState {
  return { bandOutS: s.bandOutS, bandInS: s.bandInS, delaySPerVeh: perf.delaySPerVeh, stopsPerVeh: perf.stopsPerVeh };
}

/** Left-turn order names by swap mask, as reported per signal. */
const ORDER_NAMES = ['lead-lead', 'lag-lead', 'lead-lag', 'lag-lag'];

/**
 * Writes one coordinated corridor into `buf` (left-turn patterns, offsets with the first
 * signal as time reference), validates every signal and reports the plan with its bands
 * measured as it will run.
 */
export function finish(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, prep: PreparedCorridor, sol: BandSolution, uncoordinated: CorridorState, bandState: CorridorState, refined: Performance, bands: BandSolver): CorridorPlan {
  const { problem: p, indices, windows } = prep;
  const n = p.n;
  // The first signal is the time reference: shift everything so its offset is 0.
  const shift = sol.offsetS[0]!;
  const issues = new IssueList();
  const members: CorridorIntersection[] = [];
  indices.forEach((i, k) => {
    const w = windows[k]!;
    const pattern = sol.pattern[k]!;
    applyPattern(c, buf, i, w.barrier, w.swapMask[pattern]!);
    const offset = mod(sol.offsetS[k]! - shift, p.periodS[k]!);
    buf.offsetS[i] = round1(offset) >= p.periodS[k]! ? 0 : round1(offset);
    if (!validateIntersectionPlan(c, i, buf, issues)) throw new UnsafePlanError(c.intersectionIds[i]!, issues.items);
    const ix = c.network.intersections[i]!;
    members.push({
      id: ix.id,
      name: ix.name,
      positionM: prep.positionM[k]!,
      cycleS: buf.cycleS[i]!,
      doubleCycled: prep.doubleCycled[k]!,
      offsetS: buf.offsetS[i]!,
      leftTurnOrder: w.barrier < 0 ? 'fixed' : ORDER_NAMES[w.swapMask[pattern]!]!,
      outboundApproach: prep.outApproach[k]!,
      inboundApproach: prep.inApproach[k]!,
      outGreen: { startS: round1(buf.offsetS[i]! + w.outStartS[pattern]!), lengthS: round1(w.outGreenS) },
      inGreen: { startS: round1(buf.offsetS[i]! + w.inStartS[pattern]!), lengthS: round1(w.inGreenS) },
      outClearance: windowClearance(c, buf, i, throughIndex(prep.outApproach[k]!), w.outStartS[pattern]! + w.outGreenS),
      inClearance: windowClearance(c, buf, i, throughIndex(prep.inApproach[k]!), w.inStartS[pattern]! + w.inGreenS),
      queueClearanceOutS: round1(prep.traffic.queueOutS[k]!),
      queueClearanceInS: round1(prep.traffic.queueInS[k]!),
    });
  });
  // Bands of the plan as it will run (offsets rounded to 0.1 s), measured on its green windows.
  for (let k = 0; k < n; k++) sol.offsetS[k] = buf.offsetS[indices[k]!]!;
  bands.measure(p, sol);
  const minOut = narrowestGreenS(p.greenOutS, n);
  const minIn = narrowestGreenS(p.greenInS, n);
  const speeds = (len: readonly number[], t: Float64Array) => len.map((m, k) => round1((m / t[k]!) * 3.6));
  return {
    corridorId: corridor.id,
    name: corridor.name,
    cycleS: p.cycleS,
    mode: sol.mode === BandMode.TwoWay ? 'two-way' : sol.mode === BandMode.OutboundOnly ? 'outbound only' : 'inbound only',
    weightOut: round3(p.weightOut),
    weightIn: round3(p.weightIn),
    attainabilityOut: round3(sol.bandOutS / minOut),
    attainabilityIn: round3(sol.bandInS / minIn),
    progressionKph: { out: speeds(prep.lengthM, sol.travelOutS), in: speeds(prep.lengthM, sol.travelInS) },
    travelOutS: Array.from(sol.travelOutS.subarray(0, n - 1), round1),
    travelInS: Array.from(sol.travelInS.subarray(0, n - 1), round1),
    bandOutStartS: round1(sol.bandOutStartS),
    bandInStartS: round1(sol.bandInStartS),
    uncoordinated: roundState(uncoordinated),
    bandOptimized: roundState(bandState),
    refined: roundState(state(sol, refined)),
    intersections: members,
    system: null,
  };
}

function roundState(s: CorridorState): CorridorState {
  return { bandOutS: round1(s.bandOutS), bandInS: round1(s.bandInS), delaySPerVeh: round1(s.delaySPerVeh), stopsPerVeh: round3(s.stopsPerVeh) };
}
