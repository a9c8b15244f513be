/**
 * Ground truth of link travel times and loop speeds from the simulator's own
 * vehicle trajectories, to check what engine/traffic estimates from the loops
 * against: per approach link (simulator/topology.ts order, the same as
 * engine/traffic/links.ts) and per interval, the time each vehicle took from
 * coming onto the link to crossing its stop line (binned by the crossing), and
 * the speed of every vehicle whose front passed an advance loop (binned by the
 * passage). Attach to a Simulation; it watches every step (one pass over the
 * vehicle slots). Used by simulator/trafficState.test.ts and the benchmarks.
 */
import { DetectorKind } from '../engine/network/compile.js';
import type { Simulation } from './simulation.js';
import type { SimStepObserver } from './events.js';
import type { SimState } from './vehicles.js';

export class LinkTruth implements SimStepObserver {
  readonly intervalS: number;
  private readonly links: number;
  private readonly laneLink: Int32Array;
  /** Per vehicle slot: the link it was on at the last step (-1 none), when it came onto it, its trip start, its position. */
  private curLink: Int32Array;
  private enterS: Float64Array;
  private tripS: Float64Array;
  private prevPos: Float64Array;
  /** Advance loops per lane: lane → [start, end) into loopPos. */
  private readonly laneLoopStart: Int32Array;
  private readonly loopPos: Float64Array;
  /** Per interval, per link: Σ travel time and vehicles; Σ 1/speed and passages at the advance loops. */
  readonly travelSumS: Float64Array[] = [];
  readonly travelN: Float64Array[] = [];
  readonly invSpeedSum: Float64Array[] = [];
  readonly passages: Float64Array[] = [];

  /** `also`: an observer attached before (an event recorder) that keeps being told every step. */
  constructor(
    sim: Simulation,
    intervalS: number,
    private readonly also?: SimStepObserver,
  ) {
    this.intervalS = intervalS;
    const top = sim.topology;
    const c = sim.network;
    this.links = top.linkCount;
    this.laneLink = top.laneLink;
    this.curLink = new Int32Array(0);
    this.enterS = new Float64Array(0);
    this.tripS = new Float64Array(0);
    this.prevPos = new Float64Array(0);
    const perLane: number[][] = Array.from({ length: c.laneIds.length }, () => []);
    for (let d = 0; d < c.detectorIds.length; d++) if (c.detectorKind[d] === DetectorKind.Advance) perLane[top.detectorLane[d]!]!.push(top.detectorPosM[d]!);
    this.laneLoopStart = new Int32Array(perLane.length + 1);
    const flat: number[] = [];
    perLane.forEach((ps, l) => {
      this.laneLoopStart[l] = flat.length;
      flat.push(...ps);
    });
    this.laneLoopStart[perLane.length] = flat.length;
    this.loopPos = Float64Array.from(flat);
    sim.attachObserver(this);
  }

  private bin(tS: number): number {
    const b = Math.floor((tS - 1e-9) / this.intervalS);
    while (this.travelSumS.length <= b) {
      this.travelSumS.push(new Float64Array(this.links));
      this.travelN.push(new Float64Array(this.links));
      this.invSpeedSum.push(new Float64Array(this.links));
      this.passages.push(new Float64Array(this.links));
    }
    return b;
  }

  observe(tS: number, s: SimState): void {
    this.also?.observe(tS, s);
    const cap = s.vLane.length;
    if (this.curLink.length !== cap) {
      this.curLink = new Int32Array(cap).fill(-1);
      this.enterS = new Float64Array(cap);
      this.tripS = new Float64Array(cap);
      this.prevPos = new Float64Array(cap);
    }
    const b = this.bin(tS);
    const tSum = this.travelSumS[b]!;
    const tN = this.travelN[b]!;
    const inv = this.invSpeedSum[b]!;
    const pass = this.passages[b]!;
    for (let v = 0; v < cap; v++) {
      const lane = s.vLane[v]!;
      const was = this.curLink[v]!;
      const link = lane >= 0 ? this.laneLink[lane]! : -1;
      const same = lane >= 0 && was === link && s.vLinkEnterS[v] === this.enterS[v] && s.vEnterS[v] === this.tripS[v];
      if (was >= 0 && !same) {
        // Left `was` during this step: over its stop line (random-turn traffic ends trips only there).
        tSum[was] = tSum[was]! + (tS - this.enterS[v]!);
        tN[was] = tN[was]! + 1;
      }
      if (lane < 0) {
        this.curLink[v] = -1;
        continue;
      }
      const pos = s.vPos[v]!;
      if (same) {
        const prev = this.prevPos[v]!;
        for (let q = this.laneLoopStart[lane]!; q < this.laneLoopStart[lane + 1]!; q++) {
          const dp = this.loopPos[q]!;
          if (prev < dp && pos >= dp) {
            inv[link] = inv[link]! + 1 / Math.max(s.vSpeed[v]!, 0.1);
            pass[link] = pass[link]! + 1;
          }
        }
      }
      this.curLink[v] = link;
      this.enterS[v] = s.vLinkEnterS[v]!;
      this.tripS[v] = s.vEnterS[v]!;
      this.prevPos[v] = pos;
    }
  }
}
