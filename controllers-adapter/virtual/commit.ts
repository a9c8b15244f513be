/**
 * Whether the virtual controller accepts what central staged and committed:
 * the plan block's CRC, its decoding, the engine's safety validator, the
 * actuated block that goes with it (which the runner then runs with the plan, or fixed time
 * without one), and for a one-cycle override (transit
 * priority) whether it agrees with what the running cycle has already timed.
 * Called by VirtualController (./controller.ts) when a write hits the commit
 * register; a refusal leaves every block as it was.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { IssueList, UnsafePlanError, formatIssues } from '../../engine/errors.js';
import type { CycleRunner } from '../../engine/runner/cycleRunner.js';
import { round1 } from '../../engine/numeric.js';
import { copyIntersectionPlan, crc16ModbusRegisters, decodePlanBlock } from '../codec.js';
import { checkActuatedBlock, decodeActuatedBlock, fixedActuatedBlock } from '../actuatedBlock.js';
import { AB_PLAN_ID, AB_PLAN_ID_TAIL, ACT_BLOCK_LENGTH, COMMIT_COMMAND, CommitStatus, ControllerMode, HR_STAGE, HR_STAGE_CRC, OverrideCommand, PB_PLAN_ID, PLAN_BLOCK_LENGTH } from '../registerMap.js';
import type { PlanStore } from './planStore.js';

/** An override of the running cycle may not end a green or start a phase sooner than this from now, s. */
const OVERRIDE_NOTICE_S = 0.5;
/** Tolerance on interval lengths, s: the runner's times are sums of tenths in floating point. */
const EPS = 1e-6;

/** What a commit did: the controller raises or clears its CommitRejected fault from it. */
export const CommitOutcome = { Refused: 0, Accepted: 1, OverrideStarted: 2 } as const;
export type CommitOutcome = (typeof CommitOutcome)[keyof typeof CommitOutcome];

/** The controller's parts a commit reads or changes. */
export interface CommitContext {
  readonly c: CompiledNetwork;
  readonly intersection: number;
  /** The intersection's phases are [p0, p1) in the compiled network. */
  readonly p0: number;
  readonly p1: number;
  readonly runner: CycleRunner;
  /** Decode scratch: holds the staged plan after a successful decode. */
  readonly scratch: PlanBuffer;
  readonly store: PlanStore;
  readonly mode: ControllerMode;
  readonly nowS: number;
}

/** Runs `command` (COMMIT_COMMAND, OverrideCommand.Now or .Next) on the staged block. */
export function commitStaged(ctx: CommitContext, command: number): CommitOutcome {
  const { c, intersection: i, runner, scratch, store } = ctx;
  const id = store.holding[HR_STAGE + PB_PLAN_ID]!;
  store.lastCommitPlanId = id;
  const refuse = (status: CommitStatus, message: string): CommitOutcome => {
    store.commitStatus = status;
    store.lastRejection = message;
    return CommitOutcome.Refused;
  };
  if (ctx.mode === ControllerMode.Flash) return refuse(CommitStatus.RefusedInFlash, 'controller is in fault flash');
  const crc = crc16ModbusRegisters(store.holding, HR_STAGE, PLAN_BLOCK_LENGTH);
  if (crc !== store.holding[HR_STAGE_CRC]) return refuse(CommitStatus.CrcMismatch, `CRC register 0x${store.holding[HR_STAGE_CRC]!.toString(16)} does not match the staging block's 0x${crc.toString(16)}`);
  copyIntersectionPlan(c, i, runner.plan, scratch);
  const decoded = decodePlanBlock(c, i, store.holding, HR_STAGE, scratch);
  if (!decoded.ok) return refuse(CommitStatus.Malformed, decoded.message);
  const issues = new IssueList();
  if (!validateIntersectionPlan(c, i, scratch, issues)) return refuse(CommitStatus.Unsafe, formatIssues(issues.items));
  if (command !== COMMIT_COMMAND) return acceptOverride(ctx, command, refuse);
  // Actuated settings go with the plan whose id they carry; a plan staged without them runs fixed-time.
  const act = store.actStage;
  const withSettings = act[AB_PLAN_ID] === id;
  if (withSettings) {
    const actCrc = crc16ModbusRegisters(act, 0, ACT_BLOCK_LENGTH);
    if (actCrc !== act[ACT_BLOCK_LENGTH]) return refuse(CommitStatus.CrcMismatch, `actuated CRC register 0x${act[ACT_BLOCK_LENGTH]!.toString(16)} does not match the actuated staging block's 0x${actCrc.toString(16)}`);
    const checked = checkActuatedBlock(c, i, act, 0);
    if (!checked.ok) return refuse(checked.status, checked.message);
  }
  try {
    // The plan and the settings it was committed with run from the same cycle zero; the
    // validator checks the settings against this plan (their force-offs are its green ends).
    runner.setPlanWithSettings(scratch, i, withSettings ? decodeActuatedBlock(c, i, act, 0, scratch) : undefined);
  } catch (e) {
    if (e instanceof UnsafePlanError) return refuse(CommitStatus.Unsafe, `the actuated settings do not fit this plan: ${formatIssues(e.issues)}`);
    throw e;
  }
  // Accepted: only now is anything changed (a refusal above leaves every block as it was).
  if (withSettings) {
    store.actPending.set(act.subarray(0, ACT_BLOCK_LENGTH));
    // Consumed: a later plan staged under the same id without new settings cannot pick these up.
    act[AB_PLAN_ID] = 0;
    act[AB_PLAN_ID_TAIL] = 0;
  } else fixedActuatedBlock(id, store.actPending);
  store.pendingBlock.set(store.holding.subarray(HR_STAGE, HR_STAGE + PLAN_BLOCK_LENGTH));
  store.pendingPlanId = decoded.planId;
  store.commitStatus = CommitStatus.Pending;
  store.lastRejection = '';
  return CommitOutcome.Accepted;
}

/**
 * A validated one-cycle override in `scratch` (transit priority). Next: runs at the next
 * cycle zero instead of the committed plan (no offset correction that cycle: the engine's
 * override sequence brings the cycle back to its offset itself). Now: replaces the rest of
 * the running cycle, only if it agrees with everything this cycle has already timed.
 */
function acceptOverride(ctx: CommitContext, command: number, refuse: (status: CommitStatus, message: string) => CommitOutcome): CommitOutcome {
  const { c, intersection: i, runner, store } = ctx;
  if (ctx.mode !== ControllerMode.Coordinated && ctx.mode !== ControllerMode.Free) return refuse(CommitStatus.OverrideIncompatible, 'not running a cycle (manual control or flash)');
  let outcome: CommitOutcome = CommitOutcome.Accepted;
  if (command === OverrideCommand.Next) {
    runner.setOneCycle(ctx.scratch, i);
    store.commitStatus = CommitStatus.OverridePending;
  } else {
    if (runner.redUntilCycleZero[i] === 1) return refuse(CommitStatus.OverrideIncompatible, 'the controller is in its start-up all-red until cycle zero');
    if (runner.isActuated(i)) return refuse(CommitStatus.OverrideIncompatible, 'the controller runs actuated: its detectors decide the running cycle');
    const tau = Math.max(0, ctx.nowS - runner.cycleStartS[i]!);
    const r = runner.running;
    const o = ctx.scratch;
    for (let p = ctx.p0; p < ctx.p1; p++) {
      const id = c.phaseIds[p];
      if (c.phaseOnDemand[p] === 1) {
        // A bus phase skipped before and after shows nothing; one being inserted gains its
        // clearances (the validator has checked them), so only its green start and end matter.
        if (r.phaseGreenS[p] === 0 && o.phaseGreenS[p] === 0) continue;
      } else if (Math.abs(o.phaseYellowS[p]! - r.phaseYellowS[p]!) > EPS || Math.abs(o.phaseAllRedS[p]! - r.phaseAllRedS[p]!) > EPS) {
        return refuse(CommitStatus.OverrideIncompatible, `phase ${id}: an override may not change yellow or all-red`);
      }
      const started = r.phaseStartS[p]! <= tau + EPS;
      if (!started) {
        if (o.phaseStartS[p]! < tau + OVERRIDE_NOTICE_S) return refuse(CommitStatus.OverrideIncompatible, `phase ${id} would start at ${o.phaseStartS[p]} s, before cycle second ${round1(tau + OVERRIDE_NOTICE_S)}`);
        continue;
      }
      if (Math.abs(o.phaseStartS[p]! - r.phaseStartS[p]!) > EPS) return refuse(CommitStatus.OverrideIncompatible, `phase ${id} started at ${r.phaseStartS[p]} s; the override moves it to ${o.phaseStartS[p]} s`);
      const greenEnd = r.phaseStartS[p]! + r.phaseGreenS[p]!;
      if (greenEnd <= tau + EPS) {
        if (Math.abs(o.phaseGreenS[p]! - r.phaseGreenS[p]!) > EPS) return refuse(CommitStatus.OverrideIncompatible, `phase ${id}'s green has ended; the override changes it`);
      } else if (o.phaseStartS[p]! + o.phaseGreenS[p]! < tau + OVERRIDE_NOTICE_S) {
        return refuse(CommitStatus.OverrideIncompatible, `phase ${id}'s green would end at ${round1(o.phaseStartS[p]! + o.phaseGreenS[p]!)} s, before cycle second ${round1(tau + OVERRIDE_NOTICE_S)}`);
      }
    }
    runner.replaceRunning(ctx.scratch, i);
    store.commitStatus = CommitStatus.OverrideRunning;
    outcome = CommitOutcome.OverrideStarted;
  }
  store.lastRejection = '';
  return outcome;
}
