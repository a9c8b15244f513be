/**
 * The plan lifecycle of a running service: propose (from the optimizer, which
 * respects the locks in force, or from an operator's edit, checked by the one
 * validator), review (diff, bands and a simulated before/after), approve or
 * reject (the `supervisor` role; optionally two people: the author cannot
 * approve their own plan), deploy to the field controllers through the
 * deployment record (service/deployer.ts), and roll back to any earlier
 * version in one step. Every plan is a version of the network's plan line in
 * the storage, so the history, the diff and the rollback all read one record.
 * Built by startServer (service/server.ts) when the service has a storage;
 * the gRPC OperationsService (service/operationsService.ts) calls it.
 *
 * What the service runs follows deployments: once a rollout is staged the
 * service's plan (SPaT, bus priority) is the deployed one, and re-sync keeps
 * restarted controllers on it under its wire plan id.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { copyIntersectionPlan, evaluateTiming, type PlanBuffer } from '../../engine/timing/planner.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { ErrorCode, GreenwaveError, IssueList } from '../../engine/errors.js';
import { status } from '@grpc/grpc-js';
import { StatusError } from '../errors.js';
import { sha256 } from '../storage/auditHash.js';
import type { CycleLimits, Replanner } from '../replan.js';
import type { ServiceState } from '../state.js';
import type { FieldLink } from '../fieldLink.js';
import { deployableBody, storedPlanBuffer, storedPlanResult, wirePlanId, type Deployer, type DeployablePlanBody, type RolloutReport } from '../deployer.js';
import type { Principal } from '../auth.js';
import type { Actor, Deployment, Lock, NewLock, PlanDecision, Storage, TimingPlan } from '../storage/storage.js';
import { applyEdits, type PlanEdit } from './edits.js';
import { demandFor } from '../../engine/demand.js';
import { diversionPlan } from '../../engine/traffic/diversionPlan.js';
import type { DiversionPlanConfig } from '../../engine/traffic/diversionFile.js';
import type { PlanReview, Reviewer } from './review.js';
import { isScheduleBody } from './schedule.js';

/** A lifecycle plan's stored body: deployable (the exact buffer), with where it came from. */
export interface ProposalBody extends DeployablePlanBody {
  readonly kind: 'proposal';
  /** The counts interval ("HH:MM") an optimizer proposal was planned for. */
  readonly at?: string;
  /** An operator's edit: the plan it edited (undefined = the plan the service was running) and the edits. */
  readonly basePlanId?: number;
  readonly edits?: readonly PlanEdit[];
  /** The locks in force when it was proposed (ids). */
  readonly locks?: readonly number[];
  /** A rollback: the version it restores. */
  readonly rollbackOfVersion?: number;
  /** A diversion plan: the flow moved off the main route's movements onto the alternative's. */
  readonly diversion?: DiversionProposal;
  /** SHA-256 of the network file it was made for: a restart on another network file does not restore it. */
  readonly networkSha256: string;
}

/**
 * What a diversion plan is planned for (engine/traffic/diversionPlan.ts): the movements
 * (intersection id, movement index approach × 4 + turn) the diverted flow leaves and takes and
 * how much, as a diversion file's `plan` gives them, and the decision point it serves.
 */
export interface DiversionProposal extends DiversionPlanConfig {
  /** The decision point whose diversion it serves (free text, for the record). */
  readonly decisionPointId: string;
}

export type ReviewState = 'proposed' | 'approved' | 'rejected';

export interface PlanStatus {
  readonly plan: TimingPlan;
  readonly state: ReviewState;
  readonly decisions: readonly PlanDecision[];
  /** Its deployments, if any, oldest first. */
  readonly deployments: readonly Deployment[];
}

export interface LifecycleOptions {
  /** The author of a plan cannot approve it (default false: one supervisor's approval is enough). */
  readonly twoPersonRule?: boolean;
}

export const isProposal = (body: unknown): body is ProposalBody => (body as { kind?: unknown } | null)?.kind === 'proposal' && typeof (body as { wire?: unknown }).wire === 'string';

export class PlanLifecycle {
  constructor(
    private readonly storage: Storage,
    private readonly state: ServiceState,
    private readonly replanner: Replanner,
    private readonly reviewer: Reviewer,
    /** The scope every plan version is stored under (the network's name). */
    readonly networkScope: string,
    private readonly field: FieldLink | undefined,
    private readonly deployer: Deployer | undefined,
    private readonly opts: LifecycleOptions = {},
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** The stored plan the service runs (the last one staged), when it came from the lifecycle. */
  inForce: number | undefined;
  /** Told before an operator's deploy or rollback: refuses it while a time-of-day schedule runs (./schedule.ts). */
  beforeManualDeploy: () => void = () => {};

  /** The scope time-of-day schedules are stored under (./schedule.ts). */
  get scheduleScope(): string {
    return `${this.networkScope}#schedule`;
  }

  get c(): CompiledNetwork {
    return this.state.c;
  }

  /** The optimizer's plan for the counts interval `at`, with the locks in force applied; stored as a new version. */
  async proposeFromOptimizer(actor: Actor, at: string, reason: string, signal: AbortSignal): Promise<TimingPlan> {
    const locks = await this.storage.listLocks({ active: true });
    const pinned = await this.pinnedPlans(locks);
    const limits = this.cycleLimits(locks, pinned);
    const result = await this.replanner.plan(at, signal, limits);
    const buffer = result.plan.buffer;
    // A pinned intersection keeps its pinned timing exactly (its cycle was held by the limits).
    for (const [i, from] of pinned) {
      copyIntersectionPlan(this.c, i, from, buffer);
      evaluateTiming(this.c, i, buffer);
    }
    this.validateAll(buffer);
    const body: ProposalBody = { kind: 'proposal', at, networkSha256: this.networkSha256(), locks: locks.map((l) => l.id), ...deployableBody(this.c, buffer, result.plan.corridors, result.forInterval) };
    return this.storage.saveTimingPlan(actor, { scope: this.scope(), body, reason: reason || `optimizer plan for ${at}`, source: 'optimizer' });
  }

  /**
   * A plan for while a diversion is active: the counts of interval `at` with `vehPerH` moved off
   * the main route's movements onto the alternative's, planned by the engine's planning step
   * (engine/traffic/diversionPlan.ts) under the cycle locks in force, pinned intersections kept,
   * checked whole by the one validator and stored as a new version: reviewed, approved and
   * deployed (and rolled back) like any other proposal. Planned in-process (one planNetwork).
   */
  async proposeDiversion(actor: Actor, at: string, diversion: DiversionProposal, reason: string): Promise<TimingPlan> {
    const move = (field: 'from' | 'to') =>
      diversion[field].map((m, k) => {
        const intersection = this.c.intersectionIds.indexOf(m.intersection);
        if (intersection < 0) throw new GreenwaveError(ErrorCode.InvalidInput, `diversion.${field}[${k}].intersection`, [{ path: `diversion.${field}[${k}].intersection`, message: `no intersection "${m.intersection}"` }]);
        return { intersection, movement: m.movement };
      });
    const from = move('from');
    const to = move('to');
    const locks = await this.storage.listLocks({ active: true });
    const pinned = await this.pinnedPlans(locks);
    const limits = this.cycleLimits(locks, pinned);
    const demand = demandFor(this.state.prepared, at);
    const plan = diversionPlan(this.c, demand.volumeVeh, demand.intervalS, from, to, diversion.vehPerH, limits ? { cycleLimitMinS: limits.minS, cycleLimitMaxS: limits.maxS } : {});
    const buffer = plan.buffer;
    for (const [i, p] of pinned) {
      copyIntersectionPlan(this.c, i, p, buffer);
      evaluateTiming(this.c, i, buffer);
    }
    this.validateAll(buffer);
    const body: ProposalBody = { kind: 'proposal', at, diversion, networkSha256: this.networkSha256(), locks: locks.map((l) => l.id), ...deployableBody(this.c, buffer, plan.corridors, demand.forInterval) };
    return this.storage.saveTimingPlan(actor, { scope: this.scope(), body, reason: reason || `diversion plan for ${diversion.decisionPointId} at ${at}`, source: 'optimizer' });
  }

  /** An operator's edit of stored plan `basePlanId` (or of the plan the service runs now); refused whole if unsafe. */
  async proposeEdit(actor: Actor, basePlanId: number | undefined, edits: readonly PlanEdit[], reason: string): Promise<TimingPlan> {
    if (reason.trim() === '') throw new GreenwaveError(ErrorCode.InvalidInput, 'reason', [{ path: 'reason', message: 'an edit needs a reason' }]);
    const base = basePlanId === undefined ? { buffer: this.state.plan.buffer, forInterval: this.state.forInterval, version: undefined } : await this.stored(basePlanId, 'base_plan_id');
    const buffer = applyEdits(this.c, base.buffer, edits);
    const body: ProposalBody = { kind: 'proposal', networkSha256: this.networkSha256(), ...(basePlanId !== undefined ? { basePlanId } : {}), edits, ...deployableBody(this.c, buffer, this.state.plan.corridors, base.forInterval) };
    return this.storage.saveTimingPlan(actor, { scope: this.scope(), body, reason, source: 'operator', ...(base.version !== undefined ? { parentVersion: base.version } : {}) });
  }

  /** The review of `planId` against `againstPlanId` (default: the plan the service runs now). */
  async review(planId: number, againstPlanId?: number): Promise<PlanReview> {
    const after = await this.stored(planId, 'plan_id');
    const before = againstPlanId === undefined ? this.state.plan.buffer : (await this.stored(againstPlanId, 'against_plan_id')).buffer;
    return this.reviewer.review(`${againstPlanId ?? `current:${this.state.forInterval}`}>${planId}`, before, after.buffer);
  }

  /** Approves or rejects: the `supervisor` role; with the two-person rule, never the plan's own author. */
  async decide(who: Principal, peer: string, planId: number, decision: 'approve' | 'reject', comment: string): Promise<PlanStatus> {
    if (!who.roles.includes('supervisor')) throw new StatusError(status.PERMISSION_DENIED, `client "${who.client}" lacks the "supervisor" role: only a supervisor approves or rejects plans`);
    const plan = { plan: (await this.status(planId)).plan };
    if (!isProposal(plan.plan.body) && !isScheduleBody(plan.plan.body)) throw new StatusError(status.FAILED_PRECONDITION, `plan ${planId} is a Replan record: there is nothing to approve`);
    if (decision === 'approve' && this.opts.twoPersonRule && plan.plan.author === who.client) throw new StatusError(status.PERMISSION_DENIED, `two-person rule: ${who.client} proposed plan ${planId} and cannot also approve it`);
    await this.storage.decidePlan({ user: who.client, peer }, planId, { decision, comment, roles: who.roles });
    return this.status(planId);
  }

  /**
   * The author takes back a proposal nobody has decided yet: recorded as its rejection by the
   * author, with `comment` (the service withdraws a diversion's plan when the diversion ends
   * before anyone approved it, so that it is not approved and deployed when nothing diverts).
   * Anything else is left as it is; returns the plan's state after.
   */
  async withdraw(actor: Actor, planId: number, comment: string): Promise<ReviewState> {
    const st = await this.status(planId);
    if (st.plan.author !== actor.user || st.state !== 'proposed' || st.decisions.length > 0) return st.state;
    await this.storage.decidePlan(actor, planId, { decision: 'reject', comment, roles: ['author'] });
    return (await this.status(planId)).state;
  }

  async status(planId: number): Promise<PlanStatus> {
    const plan = await this.storage.getTimingPlan(planId);
    // Timing plans and time-of-day schedules (./schedule.ts) are reviewed the same way.
    if (plan?.scope.kind !== 'network' || (plan.scope.id !== this.networkScope && plan.scope.id !== this.scheduleScope)) throw new StatusError(status.NOT_FOUND, `plan_id: no plan ${planId} of this network`);
    const decisions = await this.storage.planDecisions(planId);
    const deployments = await this.storage.listDeployments({ planId });
    return { plan, state: reviewState(decisions, plan, this.opts.twoPersonRule ?? false), decisions, deployments };
  }

  /** Every version of the network's plan line, newest first, with its review state. */
  async list(limit: number): Promise<PlanStatus[]> {
    const plans = (await this.storage.listTimingPlans(this.scope())).reverse().slice(0, limit);
    return Promise.all(plans.map((p) => this.status(p.planId)));
  }

  /**
   * Deploys an approved plan to every controller: staged in one transaction (or refused whole,
   * e.g. while another rollout is in flight), then the service runs it and the pushes go on in
   * the background; resolves once staged. Watch the rollout for each controller's confirmation.
   */
  async deploy(actor: Actor, planId: number): Promise<{ rolloutId: string; staged: readonly Deployment[]; done: Promise<RolloutReport> }> {
    const st = await this.status(planId);
    if (st.plan.scope.id !== this.networkScope) throw new StatusError(status.FAILED_PRECONDITION, `plan ${planId} is a time-of-day schedule: deploy it with DeploySchedule`);
    if (st.state !== 'approved') throw new StatusError(status.FAILED_PRECONDITION, `plan ${planId} is ${st.state}, not approved: a supervisor must approve it first`);
    this.beforeManualDeploy();
    return this.rollout(actor, planId);
  }

  /** Rolls back to stored version `version`: a new version with its timing, approved by this call's supervisor, deployed at once. */
  async rollback(who: Principal, peer: string, version: number, reason: string): Promise<{ plan: TimingPlan; rolloutId: string; staged: readonly Deployment[]; done: Promise<RolloutReport> }> {
    if (!who.roles.includes('supervisor')) throw new StatusError(status.PERMISSION_DENIED, `client "${who.client}" lacks the "supervisor" role: only a supervisor rolls back`);
    const old = await this.storage.timingPlanVersion(this.scope(), version);
    if (!old) throw new StatusError(status.NOT_FOUND, `version: no version ${version} of this network's plan`);
    if (!isProposal(old.body)) throw new StatusError(status.FAILED_PRECONDITION, `version ${version} is a Replan record, not a deployable plan: Replan for its interval instead`);
    // Only a version that was approved (or ran) is restored in one step: anything else goes through review.
    const was = await this.status(old.planId);
    if (was.state !== 'approved' && was.deployments.length === 0) throw new StatusError(status.FAILED_PRECONDITION, `version ${version} was ${was.state} and never deployed: propose it again for review instead of rolling back to it`);
    this.ensureFieldForDeploy();
    this.beforeManualDeploy();
    const actor = { user: who.client, peer };
    const body: ProposalBody = { ...old.body, rollbackOfVersion: version };
    const plan = await this.storage.saveTimingPlan(actor, { scope: this.scope(), body, reason: `rollback to version ${version}${reason ? `: ${reason}` : ''}`, source: 'operator', parentVersion: version });
    // The rollback is the supervisor's decision: recorded as their approval (a restore of a plan that was approved once).
    await this.storage.decidePlan(actor, plan.planId, { decision: 'approve', comment: `rollback to version ${version}`, roles: who.roles });
    return { plan, ...(await this.rollout(actor, plan.planId)) };
  }

  /** The deployments of one rollout, oldest first. */
  rolloutDeployments(rolloutId: string): Promise<Deployment[]> {
    return this.storage.listDeployments({ rolloutId });
  }

  setLock(actor: Actor, lock: NewLock): Promise<Lock> {
    this.checkLockTarget(lock);
    return this.storage.setLock(actor, lock);
  }

  releaseLock(actor: Actor, id: number, reason: string): Promise<Lock> {
    return this.storage.releaseLock(actor, id, reason);
  }

  listLocks(active: boolean): Promise<Lock[]> {
    return this.storage.listLocks({ active });
  }

  /** Stages plan `planId` on every controller and runs it; the pushes go on in the background (also the schedule's switches). */
  async rollout(actor: Actor, planId: number, prefix = 'rollout'): Promise<{ rolloutId: string; staged: readonly Deployment[]; done: Promise<RolloutReport> }> {
    const deployer = this.ensureFieldForDeploy();
    const rolloutId = `${prefix}-${planId}-${Date.now().toString(36)}`;
    const { staged, done } = await deployer.start(actor, planId, rolloutId);
    const plan = await this.storage.getTimingPlan(planId);
    // The service runs what was staged from now on; re-sync keeps restarted controllers on it.
    if (plan) this.state.apply(storedPlanResult(this.c, plan));
    this.inForce = planId;
    this.field?.deployed(wirePlanId(planId));
    // Logged either way: a rollout that fails outright (its storage closed under it at shutdown) must not
    // leave a rejected promise behind, which would end the process.
    void done.then(
      (r) => this.log(`greenwave: rollout ${rolloutId} of plan ${planId}: ${r.confirmed} confirmed, ${r.failed.length} failed${r.failed.length > 0 ? ` (${r.failed.map((f) => `${f.controllerId}: ${f.reason}`).join('; ')})` : ''}`),
      (e: unknown) => this.log(`greenwave: rollout ${rolloutId} of plan ${planId} did not finish: ${e instanceof Error ? e.message : String(e)}`),
    );
    return { rolloutId, staged, done };
  }

  ensureFieldForDeploy(): Deployer {
    if (!this.deployer || !this.field) throw new StatusError(status.FAILED_PRECONDITION, 'this service drives no field controllers (serve --controllers): there is nothing to deploy to');
    return this.deployer;
  }

  private networkSha256(): string {
    return sha256(this.state.source.networkText);
  }

  private scope(): { kind: 'network'; id: string } {
    return { kind: 'network', id: this.networkScope };
  }

  /** A stored lifecycle plan of this network, decoded. */
  private async stored(planId: number, path: string): Promise<{ plan: TimingPlan; buffer: PlanBuffer; forInterval: string; version: number }> {
    const plan = await this.storage.getTimingPlan(planId);
    if (!plan || plan.scope.id !== this.networkScope) throw new StatusError(status.NOT_FOUND, `${path}: no plan ${planId} of this network`);
    if (!isProposal(plan.body)) throw new StatusError(status.FAILED_PRECONDITION, `${path}: plan ${planId} is a Replan record without a deployable plan`);
    return { plan, buffer: storedPlanBuffer(this.c, plan), forInterval: plan.body.forInterval, version: plan.version };
  }

  /** Intersection index → the timing it is pinned to, from the plan locks in force. */
  private async pinnedPlans(locks: readonly Lock[]): Promise<Map<number, PlanBuffer>> {
    const out = new Map<number, PlanBuffer>();
    for (const l of locks) {
      if (l.what !== 'plan' || l.scope.kind !== 'intersection') continue;
      const i = this.c.intersectionIds.indexOf(l.scope.id);
      const planId = (l.value as { planId?: unknown } | null)?.planId;
      if (i < 0 || typeof planId !== 'number') continue;
      out.set(i, (await this.stored(planId, `locks[${l.id}].value.planId`)).buffer);
    }
    return out;
  }

  /** Cycle bounds from the cycle locks, and the pinned intersections held at their pinned cycle. */
  private cycleLimits(locks: readonly Lock[], pinned: ReadonlyMap<number, PlanBuffer>): CycleLimits | undefined {
    const n = this.c.intersectionCount;
    const minS = new Float64Array(n).fill(Number.NaN);
    const maxS = new Float64Array(n).fill(Number.NaN);
    let any = false;
    const hold = (i: number, cycleS: number): void => {
      minS[i] = cycleS;
      maxS[i] = cycleS;
      any = true;
    };
    for (const l of locks) {
      if (l.what !== 'cycle') continue;
      const cycleS = (l.value as { cycleS?: unknown } | null)?.cycleS;
      if (typeof cycleS !== 'number') continue;
      const members = l.scope.kind === 'corridor' ? (this.c.network.corridors.find((x) => x.id === l.scope.id)?.intersections ?? []) : [l.scope.id];
      for (const id of members) {
        const i = this.c.intersectionIds.indexOf(id);
        if (i >= 0) hold(i, cycleS);
      }
    }
    for (const [i, b] of pinned) hold(i, b.cycleS[i]!);
    return any ? { minS, maxS } : undefined;
  }

  private checkLockTarget(l: NewLock): void {
    const known = l.scope.kind === 'corridor' ? this.c.network.corridors.some((x) => x.id === l.scope.id) : this.c.intersectionIds.includes(l.scope.id);
    if (!known) throw new StatusError(status.NOT_FOUND, `scope_id: no ${l.scope.kind} "${l.scope.id}"`);
    if (l.what === 'cycle') {
      const cycleS = (l.value as { cycleS?: unknown } | null)?.cycleS;
      if (!(typeof cycleS === 'number' && Number.isFinite(cycleS) && cycleS > 0)) throw new GreenwaveError(ErrorCode.InvalidInput, 'cycle_s', [{ path: 'cycle_s', message: 'a cycle lock needs a cycle, s' }]);
    } else if (l.scope.kind !== 'intersection') throw new GreenwaveError(ErrorCode.InvalidInput, 'what', [{ path: 'what', message: 'a plan lock pins one intersection' }]);
  }

  /** The one validator over every intersection: a proposal is stored only whole and safe. */
  private validateAll(buffer: PlanBuffer): void {
    const issues = new IssueList();
    for (let i = 0; i < this.c.intersectionCount; i++) validateIntersectionPlan(this.c, i, buffer, issues);
    if (issues.items.length > 0) throw new GreenwaveError(ErrorCode.UnsafePlan, 'the proposed plan breaks the safety rules', issues.items);
  }
}

/**
 * Rejected if anyone rejected; approved once a supervisor approved. With the two-person rule
 * the approval must come from someone other than the author, except for a rollback: it restores
 * a version that was approved before, and the supervisor asking for it is its approval.
 */
export function reviewState(decisions: readonly PlanDecision[], plan: TimingPlan, twoPersonRule: boolean): ReviewState {
  if (decisions.some((d) => d.decision === 'reject')) return 'rejected';
  const rollback = isProposal(plan.body) && plan.body.rollbackOfVersion !== undefined;
  const approved = decisions.some((d) => d.decision === 'approve' && d.roles.includes('supervisor') && (!twoPersonRule || rollback || d.actor !== plan.author));
  return approved ? 'approved' : 'proposed';
}
