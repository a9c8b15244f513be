/**
 * Entering and leaving actuated control in the one cycle runner (./cycleRunner.ts calls
 * these; nothing else does). The runner keeps the clock, the lamps and the fixed-time cycle
 * zero (plan switch, one-cycle override, offset correction); ./actuatedPass.ts takes the
 * decisions inside a pass. Here: checking settings against the plan they will run with,
 * starting the lead-in or the first pass, going on pass after pass, leaving through the
 * lead-out, and starting again when queued settings take effect at a plan cycle zero.
 *
 * The functions work on RunnerState: the runner's own arrays, shared by reference (it
 * allocates them once and never replaces them), so the runner's per-step code and these read
 * and write the same state, with nothing copied. They run at construction, when settings or
 * plans are queued, and at cycle zeros; never per step.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { validateActuatedPlan } from '../safety/validator.js';
import { IssueList, UnsafePlanError } from '../errors.js';
import { CONTROL_COORDINATED, CONTROL_FREE, type ActuatedPlan } from '../timing/actuated.js';
import { mod } from '../numeric.js';
import { isActuatedMode, KIND_LEAD_IN, KIND_LEAD_OUT, KIND_PASS, type ActuatedPass } from './actuatedPass.js';

/** Bit of the runner's boundaryFlags: an actuated pass starts at this cycle zero (./cycleRunner.ts re-exports it). */
export const BOUNDARY_ACTUATED = 16;

const EPS = 1e-6;

/** The cycle runner's state these functions read and write: its own arrays, by reference. */
export interface RunnerState {
  readonly c: CompiledNetwork;
  readonly act: ActuatedPass;
  /** The plan as committed (no correction applied), and the cycle being run. */
  readonly target: PlanBuffer;
  readonly running: PlanBuffer;
  /** Per intersection: 1 while a plan, or a one-cycle override, waits for the next cycle zero. */
  readonly hasQueued: Uint8Array;
  readonly hasOneCycle: Uint8Array;
  readonly cycleStartS: Float64Array;
  /** Position in the running cycle as last stepped to (see the runner's tauS). */
  readonly lastTauS: Float64Array;
  readonly boundaryFlags: Uint8Array;
  readonly correctOffsets: Uint8Array;
}

/** Throws UnsafePlanError unless settings `a` fit intersection i of `plan` (the validator's validateActuatedPlan). */
export function checkActuated(c: CompiledNetwork, plan: PlanBuffer, i: number, a: ActuatedPlan): void {
  // No issue list unless it fails: settings are usually valid.
  if (validateActuatedPlan(c, i, plan, a)) return;
  const issues = new IssueList();
  validateActuatedPlan(c, i, plan, a, issues);
  throw new UnsafePlanError(c.intersectionIds[i]!, issues.items);
}

/** The settings i will run (queued, else in force), checked against `plan`: a plan about to be queued or reset to. */
export function checkActuatedFits(s: RunnerState, plan: PlanBuffer, i: number): void {
  const settings = s.act.settings;
  if (!isActuatedMode(settings.nextMode(i))) return;
  checkActuated(s.c, plan, i, settings.settingsOf(settings.hasQueued[i] === 1));
}

/**
 * At construction, i anchored on `plan` at clock time t: puts settings `a` in force (checked
 * against `plan`) and starts actuated control where it can start at once. Free: a pass from t.
 * Coordinated: the lead-in if t falls in it (or at a plan cycle zero), else nothing: the next
 * cycle zero starts it.
 */
export function startActuated(s: RunnerState, plan: PlanBuffer, i: number, a: ActuatedPlan, tS: number): void {
  const act = s.act;
  checkActuated(s.c, plan, i, a);
  act.settings.queue(i, a);
  act.settings.takeQueued(i);
  if (act.mode[i] === CONTROL_FREE) {
    s.cycleStartS[i] = tS;
    s.lastTauS[i] = 0;
    enterActuated(s, i);
    return;
  }
  act.computeRotation(i, s.target);
  const tau = tS - s.cycleStartS[i]!;
  if (tau < EPS || (act.rotationS[i]! > 0 && tau < act.rotationS[i]!)) enterActuated(s, i);
}

/** At a plan cycle zero (fixed logic done): start the lead-in or the first pass. */
function enterActuated(s: RunnerState, i: number): void {
  const act = s.act;
  act.computeRotation(i, s.target);
  if (act.mode[i] === CONTROL_FREE) act.callAll(i);
  if (act.mode[i] === CONTROL_COORDINATED && act.rotationS[i]! > 0) {
    act.writePart(i, s.target, s.running, true);
    act.kind[i] = KIND_LEAD_IN;
    return;
  }
  startPass(s, i);
}

function startPass(s: RunnerState, i: number): void {
  s.act.kind[i] = KIND_PASS;
  s.act.startPass(i, s.target, s.running);
  // Phases served from the pass start show from its first instant.
  s.act.advance(i, s.running, s.cycleStartS[i]!, 0, 0);
  s.boundaryFlags[i] = BOUNDARY_ACTUATED;
}

/**
 * A cycle zero of i while it runs actuated, before the runner's fixed-time logic: the lead-in
 * ends in the first pass; a pass ends in the next one, unless the runner waits to leave (a
 * plan, override or new settings queued) and no phase is carried over, when a coordinated
 * intersection with a rotation starts its lead-out. True when that settled the cycle zero;
 * false (fixed time, the end of the lead-out, or leaving at once) lets the runner go on.
 */
export function actuatedCycleZero(s: RunnerState, i: number): boolean {
  const act = s.act;
  const kind = act.kind[i]!;
  if (kind === KIND_LEAD_IN) {
    startPass(s, i);
    return true;
  }
  if (kind === KIND_PASS) {
    // A phase carried over must clear in a pass first (no rest while leaving: it ends at once).
    const leave = (s.hasQueued[i] === 1 || s.hasOneCycle[i] === 1 || act.hasQueued[i] === 1) && act.pendingCarry[i] === 0;
    if (!leave) {
      startPass(s, i);
      return true;
    }
    if (act.mode[i] === CONTROL_COORDINATED && act.rotationS[i]! > 0) {
      // Back to a plan cycle zero through the plan's barriers after the rotation.
      act.writePart(i, s.target, s.running, false);
      act.kind[i] = KIND_LEAD_OUT;
      s.boundaryFlags[i] = 0;
      return true;
    }
  }
  return false;
}

/**
 * After the runner's fixed-time cycle zero of i, which set boundaryFlags to `flags` and ran
 * the plan uncorrected, with the queued settings taken: actuated control starts here if the
 * settings ask for it (coordinated and correcting offsets: only in step with the offset), and
 * the flags gain BOUNDARY_ACTUATED.
 */
export function enterAtPlanCycleZero(s: RunnerState, i: number, flags: number): void {
  const act = s.act;
  if (!isActuatedMode(act.mode[i]!)) return;
  if (act.mode[i] === CONTROL_COORDINATED && s.correctOffsets[i] === 1) {
    const cyc = s.target.cycleS[i]!;
    const late = mod(s.cycleStartS[i]! - s.target.offsetS[i]!, cyc);
    if (late > EPS && cyc - late > EPS) return;
  }
  enterActuated(s, i);
  s.boundaryFlags[i] = flags | BOUNDARY_ACTUATED;
}
