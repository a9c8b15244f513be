/**
 * Builds the band problem of one corridor at one common cycle (band.ts solves it):
 * travel-time ranges per link, usable through-green windows per signal and
 * left-turn pattern, queue clearance, direction weights, and the traffic the
 * offset refiner (transyt.ts) needs. Called by coordinate.ts for every cycle tried.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { exitLeg, MOVEMENT_COUNT } from '../network/geometry.js';
import type { ApproachId, Corridor } from '../network/schema.js';
import { ErrorCode, GreenwaveError } from '../errors.js';
import type { PlanBuffer } from '../timing/planner.js';
import { MAX_PATTERNS, type BandProblem } from './band.js';
import { movementDemand } from './movementDemand.js';
import { linkBetween, throughIndex, travelApproaches } from './subsystems.js';
import type { CorridorTraffic } from './transyt.js';
import { newThroughWindows, throughWindows, type ThroughWindows } from './windows.js';

/** Saturation headway used to turn a queue of turning-in vehicles into clearance time, s. */
const QUEUE_HEADWAY_S = 2.0;
/** Queue clearance may take at most this share of the through green. */
const MAX_QUEUE_SHARE = 0.5;
/** Default progression speed range as a share of the link's design speed. */
const SPEED_RANGE = [0.9, 1.1] as const;

/** A corridor at one common cycle, ready for the band solver and the offset refiner. */
export interface PreparedCorridor {
  readonly indices: number[];
  readonly problem: BandProblem;
  readonly traffic: CorridorTraffic;
  readonly windows: ThroughWindows[];
  readonly doubleCycled: boolean[];
  readonly outApproach: ApproachId[];
  readonly inApproach: ApproachId[];
  readonly positionM: number[];
  readonly lengthM: number[];
}

/**
 * The band problem of a corridor whose signals are already planned at the common
 * cycle: travel-time ranges from link lengths and speeds, each signal's usable
 * through greens (less the queue of traffic that turned in upstream) for every
 * left-turn pattern, direction weights from the corridor preference and volumes,
 * and the per-direction traffic the offset refiner scores.
 */
export function buildBandProblem(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, indices: number[], cycleS: number, doubleCycled: boolean[]): PreparedCorridor {
  const net = c.network;
  const n = indices.length;
  const ix = indices.map((i) => net.intersections[i]!);
  const { outApproach, inApproach } = travelApproaches(c, indices);
  const lengthM: number[] = [];
  const positionM: number[] = [0];
  const travelOutMinS = new Float64Array(n - 1);
  const travelOutMaxS = new Float64Array(n - 1);
  const travelInMinS = new Float64Array(n - 1);
  const travelInMaxS = new Float64Array(n - 1);
  for (let k = 0; k < n - 1; k++) {
    const from = ix[k]!.id;
    const to = ix[k + 1]!.id;
    const outLink = linkBetween(net, from, to);
    const inLink = net.links.find((l) => l.from === to && l.to === from) ?? outLink;
    if (!outLink || !inLink) throw new GreenwaveError(ErrorCode.InvalidInput, `corridor ${corridor.id}: no link between ${from} and ${to}`);
    lengthM.push(outLink.lengthM);
    positionM.push(positionM[k]! + outLink.lengthM);
    const range = (link: typeof outLink, which: 0 | 1) => (which === 0 ? link.minSpeedKph ?? SPEED_RANGE[0] * link.designSpeedKph : link.maxSpeedKph ?? SPEED_RANGE[1] * link.designSpeedKph) / 3.6;
    travelOutMinS[k] = outLink.lengthM / range(outLink, 1);
    travelOutMaxS[k] = outLink.lengthM / range(outLink, 0);
    travelInMinS[k] = inLink.lengthM / range(inLink, 1);
    travelInMaxS[k] = inLink.lengthM / range(inLink, 0);
  }

  const periodS = new Float64Array(n);
  const greenOutS = new Float64Array(n);
  const greenInS = new Float64Array(n);
  const patternCount = new Uint8Array(n);
  const outStartS = new Float64Array(n * MAX_PATTERNS);
  const inStartS = new Float64Array(n * MAX_PATTERNS);
  const flowOut = new Float64Array(n);
  const flowIn = new Float64Array(n);
  const satOut = new Float64Array(n);
  const satIn = new Float64Array(n);
  const lanesOut = new Float64Array(n);
  const lanesIn = new Float64Array(n);
  const queueOut = new Float64Array(n);
  const queueIn = new Float64Array(n);
  const windows: ThroughWindows[] = [];
  const starts = new Float64Array(c.phaseIds.length);
  let volumeOut = 0;
  let volumeIn = 0;
  indices.forEach((i, k) => {
    const outM = throughIndex(outApproach[k]!);
    const inM = throughIndex(inApproach[k]!);
    const w = newThroughWindows();
    throughWindows(c, buf, i, outM, inM, starts, w);
    if (w.outGreenS <= 0 || w.inGreenS <= 0) {
      throw new GreenwaveError(ErrorCode.InvalidInput, `corridor ${corridor.id}: intersection ${c.intersectionIds[i]} has no protected ${w.outGreenS <= 0 ? outApproach[k] : inApproach[k]} through green to coordinate`);
    }
    windows.push(w);
    periodS[k] = buf.cycleS[i]!;
    const dOut = movementDemand(c, buf, i, outM);
    const dIn = movementDemand(c, buf, i, inM);
    volumeOut += dOut.flow;
    volumeIn += dIn.flow;
    flowOut[k] = dOut.lanes > 0 ? dOut.flow / dOut.lanes : 0;
    flowIn[k] = dIn.lanes > 0 ? dIn.flow / dIn.lanes : 0;
    satOut[k] = dOut.sat;
    satIn[k] = dIn.sat;
    lanesOut[k] = Math.max(dOut.lanes, 1e-3);
    lanesIn[k] = Math.max(dIn.lanes, 1e-3);
    // Queue clearance: traffic that turned in upstream and reached the stop line during red.
    const redShareOut = 1 - w.outGreenS / periodS[k]!;
    const redShareIn = 1 - w.inGreenS / periodS[k]!;
    const upOut = k > 0 ? turnInFlow(c, buf, indices[k - 1]!, throughIndex(outApproach[k - 1]!)) : 0;
    const upIn = k < indices.length - 1 ? turnInFlow(c, buf, indices[k + 1]!, throughIndex(inApproach[k + 1]!)) : 0;
    queueOut[k] = Math.min(MAX_QUEUE_SHARE * w.outGreenS, ((upOut * periodS[k]!) / 3600 / lanesOut[k]!) * redShareOut * QUEUE_HEADWAY_S);
    queueIn[k] = Math.min(MAX_QUEUE_SHARE * w.inGreenS, ((upIn * periodS[k]!) / 3600 / lanesIn[k]!) * redShareIn * QUEUE_HEADWAY_S);
    greenOutS[k] = w.outGreenS - queueOut[k]!;
    greenInS[k] = w.inGreenS - queueIn[k]!;
    patternCount[k] = w.patternCount;
    for (let p = 0; p < w.patternCount; p++) {
      outStartS[k * MAX_PATTERNS + p] = w.outStartS[p]! + queueOut[k]!;
      inStartS[k * MAX_PATTERNS + p] = w.inStartS[p]! + queueIn[k]!;
    }
  });
  // Weights: the corridor's direction preference times each direction's through volume.
  const wo = corridor.outboundWeight * volumeOut;
  const wi = (1 - corridor.outboundWeight) * volumeIn;
  const total = wo + wi > 0 ? wo + wi : 1;
  const problem: BandProblem = {
    n,
    cycleS,
    weightOut: wo + wi > 0 ? wo / total : 0.5,
    weightIn: wo + wi > 0 ? wi / total : 0.5,
    periodS,
    greenOutS,
    greenInS,
    patternCount,
    outStartS,
    inStartS,
    travelOutMinS,
    travelOutMaxS,
    travelInMinS,
    travelInMaxS,
  };
  const traffic: CorridorTraffic = { flowOutVehPerH: flowOut, flowInVehPerH: flowIn, satOutVehPerH: satOut, satInVehPerH: satIn, lanesOut, lanesIn, queueOutS: queueOut, queueInS: queueIn };
  return { indices, problem, traffic, windows, doubleCycled, outApproach, inApproach, positionM, lengthM };
}

/** Turning traffic at `i` that leaves toward the next signal alongside the through movement `through`. */
function turnInFlow(c: CompiledNetwork, buf: PlanBuffer, i: number, through: number): number {
  const leg = exitLeg(through);
  let flow = 0;
  for (let m = 0; m < MOVEMENT_COUNT; m++) {
    if (m === through || exitLeg(m) !== leg) continue;
    flow += movementDemand(c, buf, i, m).flow;
  }
  return flow;
}
