/**
 * What the virtual controller reports to central in its input registers: the
 * ring-1 status (phase, interval, time in it, cycle second) derived from the
 * cycle runner on demand, and the status and detector block as register
 * values. Used by VirtualController.readInput (./controller.ts).
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { PHASE_ALL_RED, PHASE_GREEN, PHASE_RED, PHASE_YELLOW } from '../../engine/runner/lamps.js';
import type { CycleRunner } from '../../engine/runner/cycleRunner.js';
import {
  ControllerMode,
  Interval,
  IR_ACTIVE_PLAN_ID,
  IR_COMMIT_STATUS,
  IR_CYCLE_SECOND_DS,
  IR_DET_SEQ,
  IR_DETECTOR_COUNT,
  IR_DETECTORS,
  IR_FAULTS,
  IR_INTERVAL,
  IR_MODE,
  IR_PENDING_PLAN_ID,
  IR_PHASE,
  IR_RUNNING_CYCLE_DS,
  IR_TIME_IN_INTERVAL_DS,
  IR_UPTIME_S_HI,
  IR_UPTIME_S_LO,
  NO_PHASE,
} from '../registerMap.js';
import type { DetectorBank } from './detectors.js';
import type { PlanStore } from './planStore.js';

/** Ring-1 status at the last evaluation of the lamps. */
export class RingStatus {
  phase = NO_PHASE;
  interval: Interval = Interval.Red;
  timeInIntervalS = 0;
  cycleSecondS = 0;
  /** Behind the lamps: refresh() before reading (registers are read far less often than edges pass). */
  dirty = false;

  /** Recomputes the status of intersection i (phases [p0, p1)) from the runner, if it is behind. */
  refresh(c: CompiledNetwork, run: CycleRunner, i: number, p0: number, p1: number): void {
    if (!this.dirty) return;
    this.dirty = false;
    const tau = run.tauS(i);
    const r = run.running;
    const intervals = run.intervals(i);
    this.phase = NO_PHASE;
    this.interval = Interval.Red;
    this.timeInIntervalS = 0;
    this.cycleSecondS = tau;
    for (let p = p0; p < p1; p++) {
      const interval = intervals[p]!;
      if (c.phaseRing[p] !== 0 || interval === PHASE_RED) continue;
      const s = r.phaseStartS[p]!;
      const ge = s + r.phaseGreenS[p]!;
      this.phase = p - p0;
      if (interval === PHASE_GREEN) {
        this.interval = Interval.Green;
        this.timeInIntervalS = tau - s;
      } else if (interval === PHASE_YELLOW) {
        this.interval = Interval.Yellow;
        this.timeInIntervalS = tau - ge;
      } else if (interval === PHASE_ALL_RED) {
        this.interval = Interval.Red;
        this.timeInIntervalS = tau - (ge + r.phaseYellowS[p]!);
      }
    }
  }
}

/** Everything the input registers show, at the moment of a read. */
export interface InputSource {
  readonly mode: ControllerMode;
  readonly faults: number;
  readonly status: RingStatus;
  readonly store: PlanStore;
  readonly detectors: DetectorBank;
  readonly runningCycleS: number;
  readonly uptimeS: number;
}

/** Input register a. */
export function inputValue(a: number, s: InputSource): number {
  const uptime = s.uptimeS >>> 0;
  switch (a) {
    case IR_ACTIVE_PLAN_ID:
      return s.store.activePlanId;
    case IR_PHASE:
      return s.mode === ControllerMode.Flash ? NO_PHASE : s.status.phase;
    case IR_INTERVAL:
      return s.mode === ControllerMode.Flash ? Interval.Flash : s.status.interval;
    case IR_TIME_IN_INTERVAL_DS:
      return tenths(s.status.timeInIntervalS);
    case IR_CYCLE_SECOND_DS:
      return tenths(s.status.cycleSecondS);
    case IR_MODE:
      return s.mode;
    case IR_FAULTS:
      return s.faults;
    case IR_PENDING_PLAN_ID:
      return s.store.pendingPlanId;
    case IR_COMMIT_STATUS:
      return s.store.commitStatus;
    case IR_RUNNING_CYCLE_DS:
      return tenths(s.runningCycleS);
    case IR_DETECTOR_COUNT:
      return s.detectors.count;
    case IR_UPTIME_S_HI:
      return (uptime >>> 16) & 0xffff;
    case IR_UPTIME_S_LO:
      return uptime & 0xffff;
    case IR_DET_SEQ:
      return s.detectors.seq;
    default:
      return a < IR_DETECTORS ? 0 : s.detectors.register(a - IR_DETECTORS);
  }
}

/** Seconds as a uint16 register in tenths (clamped). */
function tenths(s: number): number {
  return Math.max(0, Math.min(0xffff, Math.round(s * 10)));
}
