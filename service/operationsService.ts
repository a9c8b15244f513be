/**
 * OperationsService (proto/greenwave/v1/operations.proto): the plan lifecycle
 * (service/lifecycle/), locks and the audit log over gRPC. Registered by
 * startServer (./server.ts) with a ServiceContext (./calls.ts); without a
 * storage every call is FAILED_PRECONDITION (nothing to keep a lifecycle in).
 * Requests are checked here field by field (INVALID_ARGUMENT names the
 * field); the lifecycle enforces roles beyond the call's own and the rules.
 */
import * as grpc from '@grpc/grpc-js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { timingPlans } from '../engine/plan.js';
import { StatusError, toGrpcStatus } from './errors.js';
import { intersectionPlanMessage, sToTimestamp, str, timestampToS, type Obj } from './messages.js';
import { callSignal, type ServiceContext } from './calls.js';
import { storedPlanBuffer } from './deployer.js';
import { isProposal, type PlanLifecycle, type PlanStatus } from './lifecycle/lifecycle.js';
import type { PlanEdit } from './lifecycle/edits.js';
import { isScheduleBody, type ScheduleEntry, type ScheduleKeeper } from './lifecycle/schedule.js';
import type { PlanReview, SimulatedSide } from './lifecycle/review.js';
import type { MeasuredBand } from '../engine/corridor/measureBands.js';
import type { Deployment, Lock, NewLock, TimingPlan } from './storage/storage.js';

/** Page sizes. */
const MAX_PLANS = 500;
const MAX_AUDIT_ROWS = 1000;
/** How often a rollout watch reads the deployment record, ms. */
const WATCH_POLL_MS = 200;

const invalid = (path: string, message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, path, [{ path, message }]);

function id(v: unknown, path: string, required = true): number {
  const n = Number(v ?? 0);
  if (!Number.isSafeInteger(n) || n < 0 || (required && n === 0)) throw invalid(path, 'must be a positive whole number');
  return n;
}

function limit(v: unknown, path: string, dflt: number, max: number): number {
  const n = Number(v ?? 0);
  if (!Number.isInteger(n) || n < 0) throw invalid(path, 'must be a whole number');
  if (n > max) throw invalid(path, `at most ${max}`);
  return n === 0 ? dflt : n;
}

const ts = (ms: number | null): Obj | null => (ms === null ? null : sToTimestamp(ms / 1000));

function deploymentMessage(d: Deployment): Obj {
  return {
    deployment_id: d.id,
    controller_id: d.controllerId,
    plan_id: d.planId,
    wire_plan_id: d.wirePlanId,
    rollout_id: d.rolloutId ?? '',
    state: d.state,
    read_back_plan_id: d.readBackPlanId ?? 0,
    reason: d.reason ?? '',
    updated_at: ts(d.updatedAtMs),
  };
}

function lockMessage(l: Lock): Obj {
  const v = (l.value ?? {}) as { cycleS?: number; planId?: number };
  return {
    lock_id: l.id,
    scope_kind: l.scope.kind,
    scope_id: l.scope.id,
    what: l.what,
    cycle_s: v.cycleS ?? 0,
    plan_id: v.planId ?? 0,
    author: l.author,
    reason: l.reason,
    created_at: ts(l.createdAtMs),
    released: l.releasedAtMs !== null,
    released_by: l.releasedBy ?? '',
  };
}

const bandMessage = (b: MeasuredBand): Obj => ({ corridor_id: b.corridorId, cycle_s: b.cycleS ?? 0, band_out_s: b.bandOutS, band_in_s: b.bandInS });
const simMessage = (s: SimulatedSide): Obj => ({ mean_delay_s: s.meanDelayS, stops_per_veh: s.stopsPerVeh, throughput_veh_per_h: s.throughputVehPerH, intersection_delay_s: s.intersectionDelayS });

function reviewMessage(r: PlanReview): Obj {
  return {
    diff: r.diff.map((x) => ({
      intersection_id: x.intersectionId,
      changes: x.changes,
      phases: x.phases.map((p) => ({ phase_id: p.phaseId, changes: p.changes })),
    })),
    bands_before: r.bands.before.map(bandMessage),
    bands_after: r.bands.after.map(bandMessage),
    simulated_before: simMessage(r.simulated.before),
    simulated_after: simMessage(r.simulated.after),
    simulated_s: r.simulated.durationS,
    seeds: r.simulated.seeds,
  };
}

const hhmm = (min: number): string => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
const entryMessage = (e: ScheduleEntry): Obj => ({ start: hhmm(e.startMin), plan_id: e.planId });

/** The handlers of greenwave.v1.OperationsService. */
export function operationsService(ctx: ServiceContext, lifecycle: PlanLifecycle | undefined, schedules: ScheduleKeeper | undefined): grpc.UntypedServiceImplementation {
  const { gate, state } = ctx;
  const lc = (): PlanLifecycle => {
    if (!lifecycle) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'the plan lifecycle needs a database: start the service with --db or --pg');
    return lifecycle;
  };
  const sk = (): ScheduleKeeper => {
    lc();
    if (!schedules) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'schedules need field controllers (serve --controllers)');
    return schedules;
  };
  const versionMessage = (s: PlanStatus, withPlans: boolean): Obj => {
    const body = s.plan.body as Record<string, unknown>;
    const proposal = isProposal(body);
    return {
      plan_id: s.plan.planId,
      version: s.plan.version,
      author: s.plan.author,
      created_at: ts(s.plan.createdAtMs),
      reason: s.plan.reason,
      source: s.plan.source,
      state: proposal || isScheduleBody(body) ? s.state : 'replan',
      parent_version: s.plan.parentVersion ?? 0,
      for_interval: typeof body['forInterval'] === 'string' ? body['forInterval'] : '',
      at: typeof body['at'] === 'string' ? body['at'] : '',
      rollback_of_version: proposal ? (body.rollbackOfVersion ?? 0) : 0,
      decisions: s.decisions.map((d) => ({ actor: d.actor, roles: d.roles, decision: d.decision, comment: d.comment, at: ts(d.atMs) })),
      deployments: s.deployments.map(deploymentMessage),
      plans: withPlans && proposal ? timingPlans(state.c, storedPlanBuffer(state.c, s.plan)).map((tp, i) => intersectionPlanMessage(state.c, tp, i)) : [],
      schedule: isScheduleBody(body) ? body.entries.map(entryMessage) : [],
      kind: proposal ? 'plan' : isScheduleBody(body) ? 'schedule' : 'replan',
    };
  };
  const actor = (who: { client: string }, call: { getPeer(): string }) => ({ user: who.client, peer: call.getPeer() });

  return {
    ListPlans: gate.unary('viewer', async (r) => ({ plans: (await lc().list(limit(r['limit'], 'limit', 50, MAX_PLANS))).map((s) => versionMessage(s, false)) })),
    GetPlanVersion: gate.unary('viewer', async (r) => versionMessage(await lc().status(id(r['plan_id'], 'plan_id')), true)),
    ProposePlan: gate.unary('operator', async (r, who, call) => {
      const l = lc();
      const reason = str(r['reason']);
      let plan: TimingPlan;
      if (r['source'] === 'optimizer_at') {
        const { signal, release } = callSignal(call);
        try {
          plan = await l.proposeFromOptimizer(actor(who, call), str(r['optimizer_at']), reason, signal);
        } catch (e: unknown) {
          const ge = e instanceof StatusError ? e : GreenwaveError.from(e);
          if (ge instanceof GreenwaveError && ge.code === ErrorCode.Cancelled) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'ProposePlan cancelled or past its deadline: nothing was stored');
          if (ge instanceof GreenwaveError && ge.code === ErrorCode.InvalidInput && ge.issues.length === 0) throw invalid('optimizer_at', ge.message);
          throw ge;
        } finally {
          release();
        }
      } else if (r['source'] === 'edit') {
        const e = (r['edit'] ?? {}) as Obj;
        const edits: PlanEdit[] = ((e['edits'] ?? []) as Obj[]).map((x) => ({
          intersectionId: str(x['intersection_id']),
          ...(x['offset'] === 'offset_s' ? { offsetS: Number(x['offset_s']) } : {}),
          phases: ((x['phases'] ?? []) as Obj[]).map((p) => ({ phaseId: str(p['phase_id']), greenS: Number(p['green_s']) })),
        }));
        const base = id(e['base_plan_id'], 'edit.base_plan_id', false);
        plan = await l.proposeEdit(actor(who, call), base === 0 ? undefined : base, edits, reason);
      } else if (r['source'] === 'diversion') {
        const dv = (r['diversion'] ?? {}) as Obj;
        const moves = (field: string) => ((dv[field] ?? []) as Obj[]).map((m) => ({ intersection: str(m['intersection_id']), movement: Number(m['movement']) }));
        const from = moves('main_movements');
        const to = moves('alternative_movements');
        const vehPerH = Number(dv['veh_per_h']);
        if (from.length === 0 || to.length === 0) throw invalid('diversion', 'main_movements and alternative_movements are both required');
        if (!(vehPerH > 0)) throw invalid('diversion.veh_per_h', 'must be > 0');
        plan = await l.proposeDiversion(actor(who, call), str(dv['at']), { decisionPointId: str(dv['decision_point_id']), from, to, vehPerH }, reason);
      } else throw invalid('source', 'one of optimizer_at, edit or diversion is required');
      return versionMessage(await l.status(plan.planId), true);
    }),
    ReviewPlan: gate.unary('viewer', async (r) => {
      const against = id(r['against_plan_id'], 'against_plan_id', false);
      return reviewMessage(await lc().review(id(r['plan_id'], 'plan_id'), against === 0 ? undefined : against));
    }),
    DecidePlan: gate.unary('supervisor', async (r, who, call) => {
      const decision = str(r['decision']);
      if (decision !== 'approve' && decision !== 'reject') throw invalid('decision', 'must be "approve" or "reject"');
      return versionMessage(await lc().decide(who, call.getPeer(), id(r['plan_id'], 'plan_id'), decision, str(r['comment'])), false);
    }),
    DeployPlan: gate.unary('supervisor', async (r, who, call) => {
      const planId = id(r['plan_id'], 'plan_id');
      const d = await lc().deploy(actor(who, call), planId);
      const v = await lc().status(planId);
      return { rollout_id: d.rolloutId, plan_id: planId, version: v.plan.version, deployments: d.staged.map(deploymentMessage) };
    }),
    RollbackPlan: gate.unary('supervisor', async (r, who, call) => {
      const version = id(r['version'], 'version');
      const d = await lc().rollback(who, call.getPeer(), version, str(r['reason']));
      return { rollout_id: d.rolloutId, plan_id: d.plan.planId, version: d.plan.version, deployments: d.staged.map(deploymentMessage) };
    }),
    WatchRollout: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!gate.openStream(call, 'viewer')) return;
      const rolloutId = str(call.request['rollout_id']);
      if (!lifecycle || rolloutId === '') {
        call.emit('error', toGrpcStatus(!lifecycle ? new StatusError(grpc.status.FAILED_PRECONDITION, 'the plan lifecycle needs a database: start the service with --db or --pg') : invalid('rollout_id', 'is required')));
        return;
      }
      void watchRollout(ctx, lifecycle, call, rolloutId);
    },
    SetLock: gate.unary('operator', async (r, who, call) => {
      const kind = str(r['scope_kind']);
      const what = str(r['what']);
      if (kind !== 'intersection' && kind !== 'corridor') throw invalid('scope_kind', 'must be "intersection" or "corridor"');
      if (what !== 'plan' && what !== 'cycle') throw invalid('what', 'must be "plan" or "cycle"');
      const lock: NewLock = {
        scope: { kind, id: str(r['scope_id']) },
        what,
        value: what === 'cycle' ? { cycleS: Number(r['cycle_s'] ?? 0) } : { planId: id(r['plan_id'], 'plan_id') },
        reason: str(r['reason']),
      };
      if (what === 'plan') await lc().status(id(r['plan_id'], 'plan_id'));
      return lockMessage(await lc().setLock(actor(who, call), lock));
    }),
    ReleaseLock: gate.unary('operator', async (r, who, call) => lockMessage(await lc().releaseLock(actor(who, call), id(r['lock_id'], 'lock_id'), str(r['reason'])))),
    ListLocks: gate.unary('viewer', async (r) => ({ locks: (await lc().listLocks(!r['include_released'])).map(lockMessage) })),
    ListAuditEvents: gate.unary(['operator', 'supervisor'], async (r) => {
      lc();
      const storage = ctx.journal?.storage;
      if (!storage) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'no database');
      const fromS = r['from'] ? timestampToS(r['from']) : undefined;
      const toS = r['to'] ? timestampToS(r['to']) : undefined;
      const rows = await storage.listAudit({
        afterSeq: id(r['after_seq'], 'after_seq', false),
        limit: limit(r['limit'], 'limit', 100, MAX_AUDIT_ROWS),
        ...(str(r['actor']) !== '' ? { actor: str(r['actor']) } : {}),
        ...(str(r['action_prefix']) !== '' ? { actionPrefix: str(r['action_prefix']) } : {}),
        ...(fromS !== undefined ? { fromMs: Math.round(fromS * 1000) } : {}),
        ...(toS !== undefined ? { toMs: Math.round(toS * 1000) } : {}),
      });
      return { events: rows.map((a) => ({ seq: a.seq, at: ts(a.atMs), actor: a.actor, peer: a.peer ?? '', action: a.action, detail: a.detail, hash: a.hash })) };
    }),
    ProposeSchedule: gate.unary('operator', async (r, who, call) => {
      const keeper = sk();
      const entries: ScheduleEntry[] = ((r['entries'] ?? []) as Obj[]).map((e, k) => {
        const m = /^(\d{1,2}):(\d{2})$/.exec(str(e['start']));
        if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw invalid(`entries[${k}].start`, 'must be a time of day "HH:MM"');
        return { startMin: Number(m[1]) * 60 + Number(m[2]), planId: id(e['plan_id'], `entries[${k}].plan_id`) };
      });
      const plan = await keeper.propose(actor(who, call), entries, str(r['reason']));
      return versionMessage(await lc().status(plan.planId), false);
    }),
    DeploySchedule: gate.unary('supervisor', async (r, who, call) => {
      const planId = id(r['plan_id'], 'plan_id');
      const report = await sk().deploy(actor(who, call), planId);
      const v = await lc().status(planId);
      return { plan_id: planId, version: v.plan.version, confirmed: report.confirmed, failed: report.failed.map((f) => ({ controller_id: f.controllerId, reason: f.reason })) };
    }),
    StopSchedule: gate.unary('supervisor', async (r, who, call) => {
      const { plan, report } = await sk().stopSchedule(who, call.getPeer(), str(r['reason']));
      return { plan_id: plan.planId, version: plan.version, confirmed: report.confirmed, failed: report.failed.map((f) => ({ controller_id: f.controllerId, reason: f.reason })) };
    }),
    GetSchedule: gate.unary('viewer', () => {
      const cur = sk().current();
      return {
        running: sk().running(),
        plan_id: cur?.plan.planId ?? 0,
        version: cur?.plan.version ?? 0,
        entries: (cur?.entries ?? []).map(entryMessage),
        due: cur?.due ? entryMessage(cur.due) : null,
        in_force_plan_id: lc().inForce ?? 0,
      };
    }),
  };
}

/** Sends each deployment of the rollout when it changes (the record, polled), until every one is final or the client leaves. */
async function watchRollout(ctx: ServiceContext, lifecycle: PlanLifecycle, call: grpc.ServerWritableStream<Obj, Obj>, rolloutId: string): Promise<void> {
  const seen = new Map<number, string>();
  let open = true;
  const stop = (): void => {
    open = false;
  };
  call.on('cancelled', stop);
  call.on('close', stop);
  try {
    let first = true;
    while (open && ctx.gate.serving) {
      const deps = await lifecycle.rolloutDeployments(rolloutId);
      if (first && deps.length === 0) throw new StatusError(grpc.status.NOT_FOUND, `rollout_id: no rollout "${rolloutId}"`);
      first = false;
      const inFlight = deps.filter((d) => d.state === 'staged' || d.state === 'committed').length;
      for (const d of deps) {
        const key = `${d.state}:${d.updatedAtMs}`;
        if (seen.get(d.id) === key) continue;
        seen.set(d.id, key);
        call.write({ deployment: deploymentMessage(d), in_flight: inFlight });
      }
      if (inFlight === 0) break;
      await new Promise((r) => setTimeout(r, WATCH_POLL_MS));
    }
    if (open) call.end();
  } catch (e: unknown) {
    if (open) call.emit('error', toGrpcStatus(e));
  }
}
