/**
 * An operator's edit of a stored plan: new offsets and phase greens for some
 * intersections, applied to a copy of the plan and checked by the one safety
 * validator (engine/safety/validator.ts) before anything is stored. A green
 * changed moves the phases after it in its ring; the cycle becomes what the
 * phases add up to. An unsafe result is refused whole (UnsafePlan), every
 * problem named with its path in the edit and the validator's rule, so the
 * console and the CLI can show "edits[0].phases[1].greenS: … (MIN_GREEN)".
 * Called by the plan lifecycle (./lifecycle.ts) for ProposePlan from an edit.
 */
import { phaseIndex, type CompiledNetwork } from '../../engine/network/compile.js';
import { clonePlanBuffer, type PlanBuffer } from '../../engine/timing/planner.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { ErrorCode, GreenwaveError, IssueList, type Issue } from '../../engine/errors.js';
import { phaseDurationS } from '../../engine/timing/runOrder.js';
import { round1 } from '../../engine/numeric.js';

export interface PhaseEdit {
  readonly phaseId: string;
  readonly greenS: number;
}

export interface PlanEdit {
  readonly intersectionId: string;
  /** New offset, s (unchanged when undefined). */
  readonly offsetS?: number | undefined;
  readonly phases?: readonly PhaseEdit[] | undefined;
}

/** Greens and offsets are kept to the controllers' 0.1 s resolution. */
const RESOLUTION = round1;

/**
 * `base` with `edits` applied, as a new buffer; throws InvalidInput for an edit that names
 * nothing or gives a non-number, UnsafePlan when the validator refuses the result.
 */
export function applyEdits(c: CompiledNetwork, base: PlanBuffer, edits: readonly PlanEdit[]): PlanBuffer {
  const bad: Issue[] = [];
  const byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const out = clonePlanBuffer(base);
  const touched = new Map<number, number>();
  if (edits.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'edits', [{ path: 'edits', message: 'at least one edit is required' }]);
  edits.forEach((e, k) => {
    const i = byId.get(e.intersectionId);
    if (i === undefined) {
      bad.push({ path: `edits[${k}].intersectionId`, message: `no intersection "${e.intersectionId}"` });
      return;
    }
    if (touched.has(i)) bad.push({ path: `edits[${k}].intersectionId`, message: `"${e.intersectionId}" is edited twice (edits[${touched.get(i)}] too)` });
    touched.set(i, k);
    if (e.offsetS !== undefined) {
      if (!Number.isFinite(e.offsetS)) bad.push({ path: `edits[${k}].offsetS`, message: 'must be a number' });
      else out.offsetS[i] = RESOLUTION(e.offsetS);
    }
    (e.phases ?? []).forEach((pe, j) => {
      const p = phaseIndex(c, i, pe.phaseId);
      if (p < 0) bad.push({ path: `edits[${k}].phases[${j}].phaseId`, message: `intersection ${e.intersectionId} has no phase "${pe.phaseId}"` });
      else if (!Number.isFinite(pe.greenS)) bad.push({ path: `edits[${k}].phases[${j}].greenS`, message: 'must be a number' });
      else out.phaseGreenS[p] = RESOLUTION(pe.greenS);
    });
  });
  if (bad.length > 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'the edit is malformed', bad);

  const unsafe: Issue[] = [];
  for (const [i, k] of touched) {
    relayout(c, out, i);
    const issues = new IssueList();
    if (!validateIntersectionPlan(c, i, out, issues)) {
      for (const it of issues.items) unsafe.push({ path: editPath(k, it.path, edits[k]!), message: `${it.message}${it.code ? ` (rule ${it.code})` : ''}`, ...(it.code ? { code: it.code } : {}) });
    }
  }
  if (unsafe.length > 0) throw new GreenwaveError(ErrorCode.UnsafePlan, 'the edited plan breaks the safety rules', unsafe);
  return out;
}

/**
 * Phase starts again after greens changed, each ring in its current order (a lead/lag pattern
 * the corridor planner chose is kept), barriers one after another from 0; the cycle is their sum.
 * Rings that no longer meet at a barrier are left so: the validator names it (BARRIER).
 */
function relayout(c: CompiledNetwork, buf: PlanBuffer, i: number): void {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  let barrierStart = 0;
  for (let b = 0; b < c.barrierCount[i]!; b++) {
    let barrierLength = 0;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      const phases: number[] = [];
      for (let p = p0; p < p1; p++) if (c.phaseBarrier[p] === b && c.phaseRing[p] === r) phases.push(p);
      phases.sort((x, y) => buf.phaseStartS[x]! - buf.phaseStartS[y]! || x - y);
      let t = barrierStart;
      for (const p of phases) {
        buf.phaseStartS[p] = RESOLUTION(t);
        t += phaseDurationS(buf, p);
      }
      barrierLength = Math.max(barrierLength, t - barrierStart);
    }
    barrierStart += barrierLength;
  }
  buf.cycleS[i] = RESOLUTION(barrierStart);
}

/** The validator's path (`plan[I3].phases[S2].greenS`, say) as the edit's (`edits[0].phases[1].greenS`) where the edit changed that phase. */
function editPath(k: number, path: string, e: PlanEdit): string {
  const m = /\.phases\[([^\]]+)\](.*)$/.exec(path);
  if (m) {
    const phaseId = m[1]!;
    const j = (e.phases ?? []).findIndex((pe) => pe.phaseId === phaseId);
    if (j >= 0) return `edits[${k}].phases[${j}]${m[2]}`;
    return `edits[${k}] (phase ${phaseId}${m[2]})`;
  }
  if (/offset/i.test(path)) return `edits[${k}].offsetS`;
  return `edits[${k}] (${path})`;
}
