/**
 * The simulator's high-resolution event log (Indiana codes, engine/events/): attach a
 * `SimEventRecorder` to a `Simulation` and every step it appends
 *  - phase events from the signal heads (the cycle runner): 1 begin green, 8 begin yellow,
 *    9 end yellow + 10 begin red clearance, 11 end red clearance, and before the 8 the
 *    green's termination (4 gap-out, 5 max-out, 6 force-off) while the intersection runs an
 *    actuated pass; fixed time logs no termination. A replayed SUMO program (options.lamps)
 *    has no phases: no phase events then;
 *  - detector events 82 on / 81 off per loop, the parameter its channel (dense index within
 *    the intersection + 1: engine/events/numbering.ts). A vehicle whose front crosses the
 *    loop is one 82 (a follower arriving while the loop is still covered logs 81 and 82 at
 *    the same instant, so every vehicle is one 82); 81 when the loop is clear at a step end.
 *    Faults show as reported: a dead loop logs nothing, a stuck-on one one 82; chatter is
 *    not modelled in the log;
 *  - pedestrian events 21 walk, 22 flashing don't walk, 23 don't walk of every phase with a
 *    crossing, parameter the phase number. The simulator moves no pedestrians, but the
 *    signal heads show the walk all the same: walk with the phase's green (pedestrian
 *    recall), timed from it by engine/events/pedestrian.ts, so the 22 and 23 carry their own
 *    times (the logged green + walk, + walk + clearance), written once a step passes them.
 *    Sampling can show a green planned at the pedestrian minimum up to one step shorter;
 *    its 23 then comes with its 8 (never after it).
 * Timestamps of the rest are the step's clock (what the vehicles saw: lamps and loops are
 * sampled once a step), epochMs + tS × 1000, rounded to 0.1 s. Plans do not change within a
 * run, so no 131–149 here (the virtual controller logs those). TSP runs outside the
 * simulation (the heads follow a schedule source, which knows no requests): whoever runs the
 * TspController passes `priorityEvent` as its event sink, and its 112–115 land in this log
 * at the simulation time of each call (engine/priority/tsp.ts TspEventSink says when).
 * Recording is opt-in: without a recorder the step pays one untaken branch.
 * Called by tests, benchmarks and whoever wants a log of a run (Link Pivot:
 * simulator/linkPivot.test.ts).
 */
import { EventBuffer } from '../engine/events/buffer.js';
import { EventCode } from '../engine/events/codes.js';
import { eventNumbering, type EventNumbering } from '../engine/events/numbering.js';
import { emitPhaseChange } from '../engine/events/phaseEdges.js';
import { PedestrianHeads } from '../engine/events/pedestrian.js';
import { KIND_PASS } from '../engine/runner/actuatedPass.js';
import { PHASE_GREEN } from '../engine/runner/lamps.js';
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { SignalHeads } from './signals.js';
import type { SimState } from './vehicles.js';
import { FAULT } from './detectors.js';

/** Simulation clock zero as a timestamp: the counts' epoch (simulator/detectors.ts). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

/** What the simulation hands an attached recorder at the end of each step's moves. */
export interface SimStepObserver {
  observe(tS: number, s: SimState): void;
}

/** The part of a Simulation a recorder attaches to (simulation.ts). */
export interface RecordableSimulation {
  readonly signals: SignalHeads;
  readonly network: CompiledNetwork;
  /** True when the signal heads drive the lamps (no replayed program). */
  readonly headsDriveLamps: boolean;
  attachObserver(observer: SimStepObserver | undefined): void;
  readonly tS: number;
}

export interface SimEventRecorderOptions {
  /** Timestamp of simulation time 0, ms (default SIM_EPOCH_MS, 2026-01-01 00:00 UTC). */
  readonly epochMs?: number;
  /** Append to this buffer (default a new one). */
  readonly events?: EventBuffer;
}

export class SimEventRecorder implements SimStepObserver {
  readonly events: EventBuffer;
  readonly numbering: EventNumbering;
  private readonly c: CompiledNetwork;
  private readonly signals: SignalHeads;
  private readonly phases: boolean;
  private readonly epochMs: number;
  /** Per intersection: its location index in the buffer. */
  private readonly location: Uint16Array;
  /** Per global phase: the interval logged last. */
  private readonly interval: Uint8Array;
  /** Per detector: 1 while logged on; the front-passage count seen last. */
  private readonly on: Uint8Array;
  private readonly lastCount: Float64Array;
  /** Every phase's pedestrian heads (all intersections in one, so pending 22s and 23s come out in time order). */
  private readonly ped: PedestrianHeads;
  private attached: RecordableSimulation | undefined;

  /** Attaches to `sim` at once (from its current clock on); `detach` stops recording. */
  constructor(sim: RecordableSimulation, opts: SimEventRecorderOptions = {}) {
    const c = sim.network;
    this.c = c;
    this.events = opts.events ?? new EventBuffer(4096);
    this.numbering = eventNumbering(c);
    this.signals = sim.signals;
    this.phases = sim.headsDriveLamps;
    this.epochMs = opts.epochMs ?? SIM_EPOCH_MS;
    this.location = new Uint16Array(c.intersectionCount);
    for (let i = 0; i < c.intersectionCount; i++) this.location[i] = this.events.locationIndex(c.intersectionIds[i]!);
    this.interval = new Uint8Array(c.phaseIds.length);
    const phaseLocation = new Uint16Array(c.phaseIds.length);
    for (let i = 0; i < c.intersectionCount; i++) phaseLocation.fill(this.location[i]!, c.phaseStart[i]!, c.phaseStart[i + 1]!);
    this.ped = new PedestrianHeads(c, this.numbering, this.events, 0, c.phaseIds.length, (p) => phaseLocation[p]!);
    // Start from what the heads show now: the log begins with the first change.
    for (let i = 0; i < c.intersectionCount; i++) {
      const iv = this.signals.intervals(i);
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) this.interval[p] = iv[p]!;
    }
    this.on = new Uint8Array(c.detectorIds.length);
    this.lastCount = new Float64Array(c.detectorIds.length).fill(-1);
    this.attached = sim;
    sim.attachObserver(this);
  }

  /**
   * A TSP event (112–115) from whoever runs bus priority on this simulation: pass this as the
   * TspController's `events` sink (engine/priority/tsp.ts TspEventSink says when each code is
   * reported). Written at the simulation time given, after anything already due before it.
   */
  readonly priorityEvent = (i: number, code: number, requestNumber: number, tS: number): void => {
    const ms = this.epochMs + tS * 1000;
    this.ped.writeDue(ms);
    this.events.push(this.location[i]!, ms, code, requestNumber);
  };

  detach(): void {
    this.attached?.attachObserver(undefined);
    this.attached = undefined;
  }

  observe(tS: number, s: SimState): void {
    const ms = this.epochMs + tS * 1000;
    this.ped.writeDue(ms);
    if (this.phases) this.phaseEvents(ms);
    this.detectorEvents(ms, s);
  }

  private phaseEvents(ms: number): void {
    const c = this.c;
    const heads = this.signals;
    for (let i = 0; i < c.intersectionCount; i++) {
      const iv = heads.intervals(i);
      const pass = heads.act.kind[i] === KIND_PASS;
      const loc = this.location[i]!;
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
        const now = iv[p]!;
        const was = this.interval[p]!;
        if (now === was) continue;
        // Greens (at least 4 s) are longer than a step: a green is never skipped between two samples.
        if (was === PHASE_GREEN) this.ped.endGreen(p, ms);
        emitPhaseChange(this.events, loc, ms, this.numbering.phaseNumber[p]!, was, now, pass ? heads.act.termination[p]! : 0);
        if (now === PHASE_GREEN) this.ped.beginGreen(p, ms);
        this.interval[p] = now;
      }
    }
  }

  private detectorEvents(ms: number, s: SimState): void {
    const n = this.on.length;
    const ev = this.events;
    const channel = this.numbering.detectorChannel;
    const owner = this.numbering.detectorIntersection;
    for (let d = 0; d < n; d++) {
      const count = s.detCount[d]!;
      const last = this.lastCount[d]!;
      // The interval close zeroes the counts after this observer has run: a drop is a new interval.
      const passages = last < 0 ? 0 : count >= last ? count - last : count;
      this.lastCount[d] = count;
      const fault = s.detFault[d]!;
      if (fault === FAULT.dead) continue;
      const loc = this.location[owner[d]!]!;
      const ch = channel[d]!;
      if (fault === FAULT.stuckOn) {
        if (this.on[d] === 0) ev.push(loc, ms, EventCode.DetectorOn, ch);
        this.on[d] = 1;
        continue;
      }
      for (let k = 0; k < passages; k++) {
        if (this.on[d] === 1) ev.push(loc, ms, EventCode.DetectorOff, ch);
        ev.push(loc, ms, EventCode.DetectorOn, ch);
        this.on[d] = 1;
      }
      const covered = s.detOccupied[d] === 1 ? 1 : 0;
      if (covered !== this.on[d]) {
        ev.push(loc, ms, covered === 1 ? EventCode.DetectorOn : EventCode.DetectorOff, ch);
        this.on[d] = covered;
      }
    }
  }
}
