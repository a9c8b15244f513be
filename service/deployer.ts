/**
 * Deploys a stored timing plan to field controllers and tracks each one in
 * the storage's deployment state machine (staged → committed → confirmed, or
 * failed), and finishes or reports, after a crash, every deployment a
 * previous run left staged or committed. Called by `greenwave deploy`
 * (cli/deploy.ts) and by whatever restarts the control centre.
 *
 * Order of writes, so that a kill -9 at any point leaves something recovery
 * can finish: the deployment is staged in the database before anything is
 * sent; it becomes committed only after the controller accepted the plan (its
 * commit status and pending or active plan id say so); confirmed only once
 * the controller reports the plan id active. Recovery reads each controller
 * and takes the deployment the rest of the way, re-sending the stored plan if
 * the controller never got it; a controller it cannot reach is reported as
 * failed with the reason, never left in flight.
 *
 * The plan sent is the exact buffer stored with the plan (`wire`, encoded by
 * service/planWire.ts), not a re-computation, so a recovery sends what the
 * operator approved even if the counts or the code changed since.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import type { ControllerClient, ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import { ControllerError, ControllerErrorReason } from '../controllers-adapter/errors.js';
import { decodePlan, encodePlan, type ReplanResult } from './planWire.js';
import type { Actor, Deployment, Storage, TimingPlan } from './storage/storage.js';
import type { DeploymentMetrics } from './metrics.js';

/** How long a committed plan may take to become active (it starts at the controller's next cycle zero), beyond two of its cycles, ms. */
const ACTIVE_MARGIN_MS = 5_000;
/** Controllers talked to at once, by default. */
const PARALLEL = 8;
/** How often a committed plan's controller is read until it reports the plan active, ms, by default. */
const POLL_MS = 200;
/** Why a deployment ended when its deployer may no longer write (`mayWrite`). */
export const FENCED_REASON = 'fenced: this deployer may no longer write to the controller (the next owner finishes it)';
const FENCED = FENCED_REASON;

export interface DeployerOptions {
  /** Controllers talked to at once (default 8). */
  readonly parallel?: number;
  /** Status poll period while waiting for a plan to become active, ms (default 200; less for controllers on a fast clock). */
  readonly pollMs?: number;
  /**
   * Fencing: asked before each push, by the push before each of its writes, and on every poll
   * while waiting; false ends the deployment as failed ("fenced: …") with nothing more written.
   * A cluster node passes its lease check for the region (service/cluster/regionDriver.ts), so
   * that it stops writing to a region's controllers the moment it loses the region.
   */
  readonly mayWrite?: () => boolean;
}

export interface StartOptions {
  /**
   * The plan id the controllers see (default `wirePlanId(planId)`): a cluster node gives the
   * id of the region's committed plan (service/cluster/regionPlans.ts), the same on every node,
   * so that a region's next owner recognises what its controllers already run.
   */
  readonly wirePlanId?: number;
}

export interface RolloutReport {
  readonly rolloutId: string;
  readonly planId: number;
  readonly confirmed: number;
  readonly failed: readonly { readonly controllerId: string; readonly reason: string }[];
}

export interface RecoveryReport {
  readonly finished: number;
  readonly failed: readonly { readonly controllerId: string; readonly reason: string }[];
}

/** The stored form of a deployable network plan: the timing reports plus the exact buffer to send. */
export interface DeployablePlanBody {
  readonly forInterval: string;
  /** encodePlan(c, buffer, corridors, forInterval): the Float64Array's bytes, base64 (it holds NaN, which JSON cannot). */
  readonly wire: string;
  readonly plans?: unknown;
}

/** The plan id controllers see for a stored plan (Modbus registers hold 1..65535). */
export function wirePlanId(planId: number): number {
  return ((planId - 1) % 0xffff) + 1;
}

/** Stores a network plan so that it can be deployed (and re-sent by a recovery). */
export function deployableBody(c: CompiledNetwork, buffer: PlanBuffer, corridors: readonly { corridorId: string; cycleS: number }[], forInterval: string, plans?: unknown): DeployablePlanBody {
  const f64 = encodePlan(c, buffer, corridors, forInterval);
  return { forInterval, wire: Buffer.from(f64.buffer, f64.byteOffset, f64.byteLength).toString('base64'), ...(plans !== undefined ? { plans } : {}) };
}

export class Deployer {
  private readonly unitOf: Map<string, ControllerEndpoint>;

  constructor(
    private readonly storage: Storage,
    private readonly client: ControllerClient,
    private readonly c: CompiledNetwork,
    endpoints: readonly ControllerEndpoint[],
    private readonly log: (line: string) => void = () => {},
    /** Told of each deployment that ends (optional: `greenwave deploy` and the crash test pass none). */
    private readonly metrics?: DeploymentMetrics,
    private readonly opts: DeployerOptions = {},
  ) {
    // Controllers are known by their intersection id.
    this.unitOf = new Map(endpoints.map((e) => [c.intersectionIds[e.intersection]!, e]));
  }

  /** Sends stored plan `planId` to every controller, tracking each deployment; resolves when each is confirmed or failed. */
  async rollout(actor: Actor, planId: number, rolloutId: string, opts: StartOptions = {}): Promise<RolloutReport> {
    return (await this.start(actor, planId, rolloutId, opts)).done;
  }

  /**
   * Stages the rollout (one transaction: every controller's deployment or, if one is refused,
   * none) and resolves once it is staged, with the deployments and a promise of the report.
   * The service answers the operator at that point and lets the pushes run on.
   */
  async start(actor: Actor, planId: number, rolloutId: string, opts: StartOptions = {}): Promise<{ readonly staged: readonly Deployment[]; readonly buffer: PlanBuffer; readonly done: Promise<RolloutReport> }> {
    const plan = await this.storage.getTimingPlan(planId);
    if (!plan) throw new GreenwaveError(ErrorCode.NotFound, `no stored plan ${planId}`);
    const buffer = this.bufferOf(plan);
    const wire = opts.wirePlanId ?? wirePlanId(planId);
    // The whole rollout is staged in one transaction: a kill cannot leave it half-recorded.
    const staged = await this.storage.stageDeployments(
      actor,
      [...this.unitOf.keys()].map((controllerId) => ({ controllerId, planId, wirePlanId: wire, rolloutId })),
    );
    const done = this.each(staged, (d) => this.finish(actor, d, buffer)).then((failed) => ({ rolloutId, planId, confirmed: staged.length - failed.length, failed }));
    return { staged, buffer, done };
  }

  /** Finishes or reports every deployment left staged or committed (after a crash). */
  async recover(actor: Actor): Promise<RecoveryReport> {
    const left = await this.storage.listUnfinishedDeployments();
    const buffers = new Map<number, PlanBuffer>();
    for (const d of left) {
      if (!buffers.has(d.planId)) {
        const plan = await this.storage.getTimingPlan(d.planId);
        if (plan) buffers.set(d.planId, this.bufferOf(plan));
      }
    }
    const failed = await this.each(left, async (d) => {
      const buffer = buffers.get(d.planId);
      if (!buffer) return this.fail(actor, d, `plan ${d.planId} is not in the store`);
      return this.finish(actor, d, buffer);
    });
    if (left.length > 0) this.log(`greenwave: recovered ${left.length - failed.length} of ${left.length} deployments left in flight${failed.length > 0 ? `; failed: ${failed.map((f) => `${f.controllerId} (${f.reason})`).join(', ')}` : ''}`);
    return { finished: left.length - failed.length, failed };
  }

  /** Takes one deployment from wherever it is to confirmed, or to failed with the reason. */
  private async finish(actor: Actor, d0: Deployment, buffer: PlanBuffer): Promise<{ controllerId: string; reason: string } | undefined> {
    const e = this.unitOf.get(d0.controllerId);
    if (!e) return this.fail(actor, d0, `no controller endpoint for ${d0.controllerId}`);
    let d = d0;
    try {
      const mayWrite = this.opts.mayWrite;
      let st = await this.client.readStatus(e.unitId);
      const has = st.activePlanId === d.wirePlanId || st.pendingPlanId === d.wirePlanId;
      if (!has) {
        if (mayWrite && !mayWrite()) return this.fail(actor, d, FENCED);
        // Never sent, or sent and lost: (re-)send exactly the stored plan.
        await this.client.pushPlan(e.unitId, buffer, { planId: d.wirePlanId, ...(mayWrite ? { mayWrite } : {}) });
        st = await this.client.readStatus(e.unitId);
      }
      if (d.state === 'staged') d = await this.storage.transitionDeployment(actor, d.id, { from: 'staged', to: 'committed' });
      const cycleS = buffer.cycleS[e.intersection]!;
      const deadline = Date.now() + cycleS * 2000 + ACTIVE_MARGIN_MS;
      while (st.activePlanId !== d.wirePlanId) {
        if (mayWrite && !mayWrite()) return this.fail(actor, d, FENCED);
        if (st.pendingPlanId !== d.wirePlanId) return this.fail(actor, d, `the controller dropped plan ${d.wirePlanId} (active ${st.activePlanId}, pending ${st.pendingPlanId})`);
        if (Date.now() > deadline) return this.fail(actor, d, `plan ${d.wirePlanId} did not become active within two cycles`);
        await new Promise((r) => setTimeout(r, this.opts.pollMs ?? POLL_MS));
        st = await this.client.readStatus(e.unitId);
      }
      await this.storage.transitionDeployment(actor, d.id, { from: 'committed', to: 'confirmed', readBackPlanId: st.activePlanId });
      this.metrics?.deploymentEnded('confirmed');
      return undefined;
    } catch (err: unknown) {
      // The push stopped at its fence: the same reason as a fence before it.
      if (err instanceof ControllerError && err.reason === ControllerErrorReason.Fenced) return this.fail(actor, d, FENCED);
      const ge = GreenwaveError.from(err);
      if (ge.code === ErrorCode.IllegalTransition) throw ge;
      // The record refused the write (a cluster's fenced storage: the region has a newer holder): nothing more may be recorded here.
      if (ge.code === ErrorCode.Fenced) return { controllerId: d.controllerId, reason: `${FENCED} (${ge.message})` };
      return this.fail(actor, d, ge.message);
    }
  }

  private async fail(actor: Actor, d: Deployment, reason: string): Promise<{ controllerId: string; reason: string }> {
    const now = await this.storage.getDeployment(d.id);
    if (now && (now.state === 'staged' || now.state === 'committed')) {
      try {
        await this.storage.transitionDeployment(actor, d.id, { from: now.state, to: 'failed', reason });
      } catch (e: unknown) {
        // Refused by a cluster's fenced record: the region's next holder ends it (supersedeDeployments).
        if (GreenwaveError.from(e).code !== ErrorCode.Fenced) throw e;
        return { controllerId: d.controllerId, reason: `${reason} (not recorded: ${e instanceof Error ? e.message : String(e)})` };
      }
      this.metrics?.deploymentEnded('failed');
    }
    return { controllerId: d.controllerId, reason };
  }

  /** Runs `fn` over the deployments, PARALLEL at a time; resolves to the failures. */
  private async each(list: readonly Deployment[], fn: (d: Deployment) => Promise<{ controllerId: string; reason: string } | undefined>): Promise<{ controllerId: string; reason: string }[]> {
    const failed: { controllerId: string; reason: string }[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const d = list[next++]!;
        const f = await fn(d);
        if (f) failed.push(f);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.parallel ?? PARALLEL, list.length) }, worker));
    return failed;
  }

  private bufferOf(plan: TimingPlan): PlanBuffer {
    return storedPlanBuffer(this.c, plan);
  }
}

/** The exact plan a stored deployable plan carries (its `wire`), decoded: buffer, timing reports, corridor cycles. */
export function storedPlanResult(c: CompiledNetwork, plan: TimingPlan): ReplanResult {
  const body = plan.body as Partial<DeployablePlanBody>;
  if (typeof body.wire !== 'string') throw new GreenwaveError(ErrorCode.InvalidInput, `stored plan ${plan.planId} carries no deployable buffer (wire)`);
  const bytes = Buffer.from(body.wire, 'base64');
  return decodePlan(c, new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}

/** The exact buffer a stored deployable plan carries. */
export function storedPlanBuffer(c: CompiledNetwork, plan: TimingPlan): PlanBuffer {
  return storedPlanResult(c, plan).plan.buffer;
}
