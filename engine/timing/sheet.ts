/**
 * The controller timing sheet: per phase, the numbers a signal technician
 * keys into a controller (minimum green, passage, maximum green, yellow, red
 * clearance, walk, flashing don't-walk) with the plan's split and, when the
 * signal is coordinated, its force-off. Built from the same compiled network,
 * plan buffer and actuated settings the controllers receive, so the sheet
 * cannot disagree with what is deployed. Called by the CLI (`plan --sheet`,
 * `--csv`, `--utdf`: cli/timingExport.ts).
 *
 * Offset reference: greenwave's offset is the time from the system's cycle
 * zero (midnight, modulo the cycle) to the start of green of the first phase
 * of ring 1 in the first barrier, the local cycle zero every phase start is
 * measured from. The sheet names that phase.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from './planner.js';
import { CONTROL_COORDINATED, CONTROL_FIXED, type ActuatedPlan } from './actuated.js';
import { allPhases, pedestrianIntervalsS } from '../network/phaseTiming.js';
import { round1 } from '../numeric.js';
import { ceilStep } from './clearance.js';

export type ControlMode = 'fixed' | 'actuated' | 'actuated-coordinated';

export interface PhaseSheetRow {
  readonly id: string;
  /** 1-based ring and barrier, as in the plan. */
  readonly ring: number;
  readonly barrier: number;
  /** Start of green from the local cycle zero, s. */
  readonly startS: number;
  /** Green + yellow + red clearance, s. */
  readonly splitS: number;
  readonly greenS: number;
  readonly minGreenS: number;
  /** Vehicle extension (gap) time, s. */
  readonly passageS: number;
  readonly maxGreenS: number;
  readonly yellowS: number;
  readonly redClearanceS: number;
  /** 0 for a phase without pedestrians. */
  readonly walkS: number;
  /** Flashing don't-walk (pedestrian clearance), s; 0 without pedestrians. */
  readonly flashingDontWalkS: number;
  /** A coordinated phase: held to its force-off, never gapped out early. */
  readonly coordinated: boolean;
  /** Local cycle time at which the green ends at the latest, s; null when the signal is not coordinated. */
  readonly forceOffS: number | null;
  /** Runs only when bus priority calls it. */
  readonly onDemand: boolean;
}

export interface TimingSheet {
  readonly intersectionId: string;
  readonly name: string;
  readonly control: ControlMode;
  readonly cycleS: number;
  readonly offsetS: number;
  /** The phase whose start of green the offset refers to (see the header). */
  readonly offsetReferencePhase: string;
  readonly phases: readonly PhaseSheetRow[];
}

/** To 0.1 s; + 0 turns a −0 (a start a hair before zero) into 0, which a sheet and a CSV must not show as "-0". */
function tenth(x: number): number {
  return round1(x) + 0;
}

const MODE_NAME: Record<number, ControlMode> = { [CONTROL_FIXED]: 'fixed', [CONTROL_COORDINATED]: 'actuated-coordinated' };

/** One sheet per intersection, in compiled order. */
export function timingSheets(c: CompiledNetwork, buffer: PlanBuffer, actuated: ActuatedPlan): TimingSheet[] {
  const sheets: TimingSheet[] = [];
  for (let i = 0; i < c.intersectionCount; i++) {
    const ix = c.network.intersections[i]!;
    const defs = allPhases(ix);
    const phases: PhaseSheetRow[] = [];
    // Local cycle zero is where ring 1's first phase to run in barrier 1 turns green (lead-lag may swap the file's order).
    let reference = '';
    let referenceStartS = Number.POSITIVE_INFINITY;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      const def = defs[c.phaseFileIndex[p]!]!;
      const ped = pedestrianIntervalsS(def, ix, c.network.defaults);
      const greenS = buffer.phaseGreenS[p]!;
      const forceOff = actuated.forceOffS[p]!;
      if (c.phaseBarrier[p] === 0 && c.phaseRing[p] === 0 && greenS > 0 && buffer.phaseStartS[p]! < referenceStartS) {
        reference = c.phaseIds[p]!;
        referenceStartS = buffer.phaseStartS[p]!;
      }
      phases.push({
        id: c.phaseIds[p]!,
        ring: c.phaseRing[p]! + 1,
        barrier: c.phaseBarrier[p]! + 1,
        startS: tenth(buffer.phaseStartS[p]!),
        splitS: greenS > 0 ? tenth(greenS + buffer.phaseYellowS[p]! + buffer.phaseAllRedS[p]!) : 0,
        greenS: tenth(greenS),
        minGreenS: tenth(actuated.minGreenS[p]!),
        passageS: tenth(actuated.passageS[p]!),
        maxGreenS: tenth(actuated.maxGreenS[p]!),
        yellowS: tenth(buffer.phaseYellowS[p]!),
        redClearanceS: tenth(buffer.phaseAllRedS[p]!),
        walkS: ped.walkS,
        flashingDontWalkS: ped.clearanceS > 0 ? ceilStep(ped.clearanceS, c.network.defaults.timingStepS) : 0,
        coordinated: actuated.coordinated[p] === 1,
        forceOffS: Number.isNaN(forceOff) ? null : tenth(forceOff),
        onDemand: c.phaseOnDemand[p] === 1,
      });
    }
    sheets.push({
      intersectionId: c.intersectionIds[i]!,
      name: ix.name,
      control: MODE_NAME[actuated.mode[i]!] ?? 'actuated',
      cycleS: buffer.cycleS[i]!,
      offsetS: tenth(buffer.offsetS[i]!),
      offsetReferencePhase: reference || (c.phaseIds[c.phaseStart[i]!] ?? ''),
      phases,
    });
  }
  return sheets;
}
