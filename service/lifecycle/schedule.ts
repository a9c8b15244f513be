/**
 * Time-of-day schedules, deployed as schedules: a day of switches ("from 07:00
 * plan 12, from 09:30 plan 14, …") between approved lifecycle plans, stored as
 * versions of the network's schedule line and reviewed like plans (propose,
 * approve by a supervisor). Deploying one writes each controller's time-of-day
 * table (docs/modbus-register-map.md, holding 248..281: start minute → wire
 * plan id), tracked in the deployment record like a plan (staged → committed
 * when written → confirmed when the table reads back equal), and from then on
 * this keeper commits each period's plan at its switch through the normal
 * rollout (service/deployer.ts), since a controller on this map holds one
 * committed plan and its register 281 only says which id is due.
 *
 * While a schedule runs, an operator's DeployPlan, RollbackPlan or Replan is
 * refused (it would be undone at the next switch): StopSchedule (a supervisor,
 * one step) deploys an empty schedule first. Times are the controller clock's
 * minute of the day (⌊t / 60⌋ mod 1440, as register 281 counts).
 *
 * Restart: the schedule in force is the newest version with a confirmed
 * deployment; the keeper resumes it and commits the period due now.
 * Built by startServer (service/server.ts); OperationsService calls it.
 */
import { status } from '@grpc/grpc-js';
import { ErrorCode, GreenwaveError, type Issue } from '../../engine/errors.js';
import { MAX_TOD_ENTRIES, MINUTES_PER_DAY } from '../../controllers-adapter/registerMap.js';
import type { DayPlanEvent } from '../../controllers-adapter/dayPlan.js';
import { StatusError } from '../errors.js';
import { wirePlanId } from '../deployer.js';
import type { FieldLink } from '../fieldLink.js';
import type { Principal } from '../auth.js';
import type { Actor, Deployment, Storage, TimingPlan } from '../storage/storage.js';
import type { PlanLifecycle, PlanStatus } from './lifecycle.js';

export interface ScheduleEntry {
  /** Minute of the day the plan starts, 0..1439. */
  readonly startMin: number;
  /** A stored, approved lifecycle plan of this network. */
  readonly planId: number;
}

export interface ScheduleBody {
  readonly kind: 'schedule';
  /** Sorted by start; empty = no schedule (what StopSchedule deploys). */
  readonly entries: readonly ScheduleEntry[];
}

export const isScheduleBody = (b: unknown): b is ScheduleBody => (b as { kind?: unknown } | null)?.kind === 'schedule' && Array.isArray((b as { entries?: unknown }).entries);

/** How often the keeper checks which period is due, ms. */
const TICK_MS = 1000;

export interface ScheduleReport {
  readonly confirmed: number;
  readonly failed: readonly { readonly controllerId: string; readonly reason: string }[];
}

export class ScheduleKeeper {
  /** The schedule in force (deployed), if any. */
  private active: { plan: TimingPlan; entries: readonly ScheduleEntry[] } | undefined;
  /** Keeper operations one at a time: a switch never races a schedule deployment. */
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private switching = false;

  constructor(
    private readonly storage: Storage,
    private readonly lifecycle: PlanLifecycle,
    private readonly field: FieldLink | undefined,
    /** Seconds (Unix time) now: the service's clock, which the controllers share. */
    private readonly clock: () => number,
    private readonly log: (line: string) => void,
  ) {
    lifecycle.beforeManualDeploy = () => {
      if (this.running()) throw new StatusError(status.FAILED_PRECONDITION, `time-of-day schedule ${this.active!.plan.planId} (version ${this.active!.plan.version}) is running and would undo this at its next switch: StopSchedule first`);
    };
  }

  /** True while a schedule with entries is in force. */
  running(): boolean {
    return (this.active?.entries.length ?? 0) > 0;
  }

  /** The schedule in force and the entry due now. */
  current(): { plan: TimingPlan; entries: readonly ScheduleEntry[]; due: ScheduleEntry | undefined } | undefined {
    if (!this.active) return undefined;
    return { ...this.active, due: dueEntry(this.active.entries, this.minuteOfDay()) };
  }

  /** Resumes the newest deployed schedule (at start) and checks every second which period is due. */
  async start(): Promise<void> {
    const versions = await this.storage.listTimingPlans({ kind: 'network', id: this.lifecycle.scheduleScope });
    for (let k = versions.length - 1; k >= 0; k--) {
      const deps = await this.storage.listDeployments({ planId: versions[k]!.planId });
      if (deps.some((d) => d.state === 'confirmed') && isScheduleBody(versions[k]!.body)) {
        this.active = { plan: versions[k]!, entries: (versions[k]!.body as ScheduleBody).entries };
        if (this.running()) this.log(`greenwave serve: resumed time-of-day schedule ${versions[k]!.planId} (version ${versions[k]!.version})`);
        break;
      }
    }
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    await this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A new schedule version (checked: whole minutes, distinct starts, approved plans of this network). */
  async propose(actor: Actor, entries: readonly ScheduleEntry[], reason: string): Promise<TimingPlan> {
    const sorted = await this.checkEntries(entries);
    if (reason.trim() === '') throw new GreenwaveError(ErrorCode.InvalidInput, 'reason', [{ path: 'reason', message: 'a schedule needs a reason' }]);
    const body: ScheduleBody = { kind: 'schedule', entries: sorted };
    return this.storage.saveTimingPlan(actor, { scope: { kind: 'network', id: this.lifecycle.scheduleScope }, body, reason, source: 'operator' });
  }

  /** Deploys an approved schedule: every controller's table written and read back, then it runs. */
  deploy(actor: Actor, scheduleId: number): Promise<ScheduleReport> {
    return this.serial(async () => {
      const st = await this.lifecycle.status(scheduleId);
      if (!isScheduleBody(st.plan.body)) throw new StatusError(status.FAILED_PRECONDITION, `plan ${scheduleId} is a timing plan, not a schedule: deploy it with DeployPlan`);
      if (st.state !== 'approved') throw new StatusError(status.FAILED_PRECONDITION, `schedule ${scheduleId} is ${st.state}, not approved: a supervisor must approve it first`);
      await this.checkEntries(st.plan.body.entries);
      return this.writeTables(actor, st.plan);
    });
  }

  /** One step, for a supervisor: an empty schedule, approved by the caller, deployed (every table cleared). */
  stopSchedule(who: Principal, peer: string, reason: string): Promise<{ plan: TimingPlan; report: ScheduleReport }> {
    if (!who.roles.includes('supervisor')) return Promise.reject(new StatusError(status.PERMISSION_DENIED, `client "${who.client}" lacks the "supervisor" role: only a supervisor stops a schedule`));
    const actor = { user: who.client, peer };
    return this.serial(async () => {
      const plan = await this.storage.saveTimingPlan(actor, { scope: { kind: 'network', id: this.lifecycle.scheduleScope }, body: { kind: 'schedule', entries: [] } satisfies ScheduleBody, reason: `stop the schedule${reason ? `: ${reason}` : ''}`, source: 'operator' });
      await this.storage.decidePlan(actor, plan.planId, { decision: 'approve', comment: 'stop the schedule', roles: who.roles });
      return { plan, report: await this.writeTables(actor, plan) };
    });
  }

  /** Is another period due? Then its plan is rolled out (one switch at a time; a rollout in flight is waited for). */
  tick(): Promise<void> {
    if (this.switching || !this.running() || !this.field) return Promise.resolve();
    return this.serial(async () => {
      const due = dueEntry(this.active!.entries, this.minuteOfDay());
      if (!due || this.lifecycle.inForce === due.planId) return;
      this.switching = true;
      try {
        const { done } = await this.lifecycle.rollout({ user: 'greenwave-scheduler' }, due.planId, `schedule-${this.active!.plan.planId}`);
        this.log(`greenwave: schedule ${this.active!.plan.planId} switched to plan ${due.planId} (from minute ${due.startMin})`);
        // Settled either way (lifecycle.rollout logs a failure): `finally` would pass a rejection on, unhandled.
        const switched = (): void => {
          this.switching = false;
        };
        void done.then(switched, switched);
      } catch (e: unknown) {
        this.switching = false;
        // Another rollout in flight (or a controller refusing): tried again at the next tick.
        this.log(`greenwave: schedule switch to plan ${due.planId} not started: ${e instanceof Error ? e.message : String(e)}`);
      }
    }).catch(() => undefined);
  }

  private minuteOfDay(): number {
    return Math.floor(this.clock() / 60) % MINUTES_PER_DAY;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Stages one deployment per controller, writes and reads back each table, and makes the schedule the one in force. */
  private async writeTables(actor: Actor, plan: TimingPlan): Promise<ScheduleReport> {
    const field = this.field;
    this.lifecycle.ensureFieldForDeploy();
    if (!field) throw new StatusError(status.FAILED_PRECONDITION, 'no field controllers');
    const entries = (plan.body as ScheduleBody).entries;
    const events = tableEvents(entries);
    const wire = wirePlanId(plan.planId);
    const rolloutId = `schedule-table-${plan.planId}-${Date.now().toString(36)}`;
    const staged = await this.storage.stageDeployments(
      actor,
      field.endpoints.map((e) => ({ controllerId: this.lifecycle.c.intersectionIds[e.intersection]!, planId: plan.planId, wirePlanId: wire, rolloutId })),
    );
    const failed: { controllerId: string; reason: string }[] = [];
    await Promise.all(
      staged.map(async (d: Deployment, k) => {
        const unitId = field.endpoints[k]!.unitId;
        try {
          const back = await field.client.writeTimeOfDay(unitId, events);
          await this.storage.transitionDeployment(actor, d.id, { from: 'staged', to: 'committed' });
          if (!sameEvents(back, events)) throw new Error(`the table read back (${JSON.stringify(back)}) differs from the one written`);
          await this.storage.transitionDeployment(actor, d.id, { from: 'committed', to: 'confirmed', readBackPlanId: wire });
        } catch (e: unknown) {
          const reason = e instanceof Error ? e.message : String(e);
          failed.push({ controllerId: d.controllerId, reason });
          const now = await this.storage.getDeployment(d.id);
          if (now && (now.state === 'staged' || now.state === 'committed')) await this.storage.transitionDeployment(actor, d.id, { from: now.state, to: 'failed', reason });
        }
      }),
    );
    this.active = { plan, entries };
    this.log(`greenwave: time-of-day schedule ${plan.planId} (version ${plan.version}, ${entries.length} periods) deployed: ${staged.length - failed.length} of ${staged.length} controllers`);
    return { confirmed: staged.length - failed.length, failed };
  }

  private async checkEntries(entries: readonly ScheduleEntry[]): Promise<ScheduleEntry[]> {
    const issues: Issue[] = [];
    if (entries.length === 0) issues.push({ path: 'entries', message: 'a schedule needs at least one period (StopSchedule ends one)' });
    if (entries.length > MAX_TOD_ENTRIES - 1) issues.push({ path: 'entries', message: `at most ${MAX_TOD_ENTRIES - 1} periods (a controller's table holds ${MAX_TOD_ENTRIES} switches, one may be needed for midnight)` });
    const seen = new Set<number>();
    for (const [k, e] of entries.entries()) {
      if (!(Number.isInteger(e.startMin) && e.startMin >= 0 && e.startMin < MINUTES_PER_DAY)) issues.push({ path: `entries[${k}].start`, message: `must be a time of day within 00:00..23:59` });
      else if (seen.has(e.startMin)) issues.push({ path: `entries[${k}].start`, message: 'two periods start at the same minute' });
      seen.add(e.startMin);
      let st: PlanStatus | undefined;
      try {
        st = await this.lifecycle.status(e.planId);
      } catch {
        st = undefined;
      }
      if (!st || st.plan.scope.id !== this.lifecycle.networkScope || isScheduleBody(st.plan.body)) issues.push({ path: `entries[${k}].plan_id`, message: `no timing plan ${e.planId} of this network` });
      else if (st.state !== 'approved') issues.push({ path: `entries[${k}].plan_id`, message: `plan ${e.planId} is ${st.state}: a schedule runs approved plans only` });
    }
    if (issues.length > 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'the schedule is not valid', issues);
    return [...entries].sort((a, b) => a.startMin - b.startMin).map((e) => ({ startMin: e.startMin, planId: e.planId }));
  }
}

/** The entry running at `minute`: the last that starts at or before it, or (before the first) the last of the day. */
export function dueEntry(entries: readonly ScheduleEntry[], minute: number): ScheduleEntry | undefined {
  if (entries.length === 0) return undefined;
  let due = entries[entries.length - 1]!;
  for (const e of entries) if (e.startMin <= minute) due = e;
  return due;
}

/** The controller's table: wire plan ids, from 00:00 (the period running across midnight gets a 00:00 entry). */
export function tableEvents(entries: readonly ScheduleEntry[]): DayPlanEvent[] {
  if (entries.length === 0) return [];
  const events = entries.map((e) => ({ startMin: e.startMin, planId: wirePlanId(e.planId) }));
  if (events[0]!.startMin !== 0) events.unshift({ startMin: 0, planId: events[events.length - 1]!.planId });
  return events;
}

function sameEvents(a: readonly DayPlanEvent[], b: readonly DayPlanEvent[]): boolean {
  return a.length === b.length && a.every((e, k) => e.startMin === b[k]!.startMin && e.planId === b[k]!.planId);
}
