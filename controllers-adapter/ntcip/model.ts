/**
 * The agent's programmable tables (pattern, split and phase rows, the
 * selected pattern, coordOperationalMode) and what a pattern of them means
 * to the controller: its plan (checked by the NTCIP rules and the safety
 * validator, ./convert.ts), how it runs (fixed, actuated-coordinated, free)
 * and the register map's actuated block it is committed with. Pure functions
 * of a Model, so the agent (./agent.ts) can check a SET on a copy before
 * anything changes.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { createPlanBuffer } from '../../engine/timing/planner.js';
import { IssueList } from '../../engine/errors.js';
import { ActuatedMode, ACT_BLOCK_LENGTH, AB_COORD_PHASES, AB_MODE, AB_PHASES, AB_PLAN_ID, AB_PLAN_ID_TAIL, ACT_PHASE_STRIDE, AP_MAX_GREEN_DS, AP_MIN_GREEN_DS, AP_PASSAGE_DS } from '../registerMap.js';
import { patternToPlan, type PatternTables, type PhaseProgram } from './convert.js';
import { PatternControl, SplitMode } from './oids.js';

/** The writable columns of one phase table row. */
export interface PhaseRow {
  minimumGreenS: number;
  passageDs: number;
  maximum1S: number;
}

export interface PatternRow {
  cycleS: number;
  offsetS: number;
  splitNumber: number;
  sequence: number;
}

export interface SplitRow {
  timeS: number;
  mode: number;
  coord: number;
}

export interface Model {
  patterns: PatternRow[];
  /** splits[table - 1][phase - 1] */
  splits: SplitRow[][];
  selected: number;
  sync: number;
  backupS: number;
  /** phases[phase - 1] */
  phases: PhaseRow[];
  /** coordOperationalMode: 0 automatic, 254 free. */
  opMode: number;
}

/** The tables of pattern p (1-based) in `m`. */
export function patternTables(m: Model, p: number): PatternTables {
  const row = m.patterns[p - 1]!;
  const splits = m.splits[row.splitNumber - 1] ?? [];
  return { cycleS: row.cycleS, offsetS: row.offsetS, sequence: row.sequence, splitS: splits.map((x) => x.timeS), coord: splits.map((x) => x.coord !== 0), omitted: splits.map((x) => x.mode === SplitMode.PhaseOmitted) };
}

/** Issues when pattern p of `m` would be refused; empty when it is runnable. */
export function checkPattern(c: CompiledNetwork, i: number, program: readonly PhaseProgram[], m: Model, p: number): IssueList {
  const issues = new IssueList();
  const row = m.patterns[p - 1];
  if (!row) {
    issues.add(`pattern[${p}]`, `pattern ${p} does not exist (1..${m.patterns.length})`);
    return issues;
  }
  if (!(row.splitNumber >= 1 && row.splitNumber <= m.splits.length)) {
    issues.add(`pattern[${p}].splitNumber`, `split table ${row.splitNumber} does not exist (1..${m.splits.length})`);
    return issues;
  }
  // splitMode phaseOmitted is accepted for on-demand (bus) phases only; patternToPlan checks it.
  const plan = createPlanBuffer(c);
  if (!patternToPlan(c, i, patternTables(m, p), plan, issues, programOf(program, m))) return issues;
  const mode = actuatedMode(m, p);
  if (mode === ActuatedMode.Fixed) return issues;
  const splits = m.splits[row.splitNumber - 1]!;
  // An actuated phase must be able to time its minimum within its split.
  const p0 = c.phaseStart[i]!;
  splits.forEach((x, k) => {
    if (x.mode === SplitMode.PhaseOmitted) return;
    if (m.phases[k]!.minimumGreenS > plan.phaseGreenS[p0 + k]! + 1e-9) issues.add(`pattern[${p}].splits[${k + 1}]`, `phaseMinimumGreen ${m.phases[k]!.minimumGreenS} s exceeds the phase's green ${plan.phaseGreenS[p0 + k]} s in this pattern`);
  });
  return issues;
}

/** The phase program with the model's (writable) min green, passage and maximum 1. */
export function programOf(program: readonly PhaseProgram[], m: Model): PhaseProgram[] {
  return program.map((ph, k) => ({ ...ph, ...m.phases[k]! }));
}

/**
 * How pattern p runs: free when coordOperationalMode is 254; actuated-coordinated when a
 * non-omitted phase is not on maximum recall; otherwise fixed-time (every phase runs its split).
 */
export function actuatedMode(m: Model, p: number): ActuatedMode {
  if (m.opMode === PatternControl.Free) return ActuatedMode.Free;
  const splits = m.splits[m.patterns[p - 1]!.splitNumber - 1] ?? [];
  const live = (x: SplitRow): boolean => x.mode !== SplitMode.PhaseOmitted;
  if (!splits.some((x) => live(x) && x.mode !== SplitMode.MaximumVehicleRecall && x.mode !== SplitMode.MaximumVehicleAndPedestrianRecall)) return ActuatedMode.Fixed;
  // Actuated phases and no coordinated phase to hold the cycle: the pattern runs free.
  return splits.some((x) => live(x) && x.coord !== 0) ? ActuatedMode.Coordinated : ActuatedMode.Free;
}

/** The register map's actuated block for pattern p of `m`, plan id p. */
export function actuatedBlock(c: CompiledNetwork, i: number, m: Model, p: number): Uint16Array {
  const regs = new Uint16Array(ACT_BLOCK_LENGTH);
  regs[AB_PLAN_ID] = p;
  regs[AB_PLAN_ID_TAIL] = p;
  const mode = actuatedMode(m, p);
  regs[AB_MODE] = mode;
  if (mode === ActuatedMode.Fixed) return regs;
  const splits = m.splits[m.patterns[p - 1]!.splitNumber - 1]!;
  let bits = 0;
  const p0 = c.phaseStart[i]!;
  m.phases.forEach((row, k) => {
    const at = AB_PHASES + k * ACT_PHASE_STRIDE;
    // The register map's min green is the least green shown, pedestrian time included (NTCIP: min green + walk + ped clearance).
    const minDs = Math.max(row.minimumGreenS * 10, Math.ceil(c.phaseMinGreenS[p0 + k]! * 10 - 1e-6));
    regs[at + AP_MIN_GREEN_DS] = minDs;
    regs[at + AP_PASSAGE_DS] = row.passageDs;
    regs[at + AP_MAX_GREEN_DS] = Math.max(row.maximum1S * 10, minDs);
    if (mode === ActuatedMode.Coordinated && splits[k]!.coord !== 0 && splits[k]!.mode !== SplitMode.PhaseOmitted) bits |= 1 << k;
  });
  regs[AB_COORD_PHASES] = bits;
  return regs;
}
