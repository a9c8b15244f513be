/**
 * Keeps field controllers on greenwave's current plan. A controller that
 * restarts (power loss, kill -9, a watchdog) comes back on its local plan (id 0)
 * and nothing in Modbus tells the master so; without this module it would run
 * the local plan until the next Replan.
 *
 * `pushAll` sends the current plan to every controller (at start and after a
 * Replan) and remembers, per controller, the plan id it accepted. `checkAll`
 * (every `periodMs`, default 5 s) reads each controller's status block (one FC4
 * of 16 registers: active plan id, pending plan id, uptime). A controller whose
 * active and pending plan ids are both different from the expected one (a
 * restart, the local plan, another master's plan) — or whose uptime went
 * backwards (it restarted) — gets the current plan again, and one log line says
 * which controller, the plan id found and the plan id expected. An id says which
 * plan a controller accepted, not that its timing is still ours: another master, or
 * a technician at the cabinet, can commit other timing under the same id. So every
 * `timingCheckEvery`-th check of a controller running the expected plan also reads its
 * active plan block (one FC3 of 69 registers) and compares it, register by register,
 * with the current plan encoded under that id; a difference is a mismatch like any
 * other, logged with the first register that differs. It becomes active
 * at the controller's next cycle zero, so a restarted controller runs the current
 * plan again within one check period plus one cycle. Unreachable controllers are
 * logged once when they go silent and once when they answer again; a check never
 * throws. The periodic read also counts as central contact for the controller's
 * communication-loss watchdog.
 *
 * Used by the gRPC service (`greenwave serve --controllers`, service/server.ts).
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import type { AnyControllerEndpoint, ControllerClient, ControllerStatus } from './modbus/client.js';
import { OptionError } from '../engine/errors.js';
import { encodePlanBlock } from './codec.js';
import { HR_ACTIVE, PLAN_BLOCK_LENGTH } from './registerMap.js';

export const DEFAULT_RESYNC_PERIOD_MS = 5000;
/** The active block's timing is read back every this many checks of a controller on plan (once a minute at 5 s). */
export const DEFAULT_TIMING_CHECK_EVERY = 12;

export interface PlanResyncOptions {
  /** Status check period, ms (default 5000; 0 = no periodic check, `checkAll` by hand). */
  readonly periodMs?: number;
  /** Where log lines go (default: standard error). */
  readonly log?: (line: string) => void;
  /** Called with every push failure (the service keeps them with the priority link's failures). */
  readonly onFailure?: (message: string) => void;
  /** Told of every event as it is recorded (the service counts them as metrics). */
  readonly onEvent?: (kind: ResyncEvent['kind']) => void;
  /**
   * The plan id the current plan carries on the wire, when it has one of its own (a plan
   * deployed through the lifecycle: service/deployer.ts wirePlanId); undefined = the next free id.
   */
  readonly planId?: () => number | undefined;
  /** Read back the active plan block every this many checks of a controller on the expected plan (default 12; 0 = never). */
  readonly timingCheckEvery?: number;
}

/** What one check or push did, for tests and status pages. */
export interface ResyncEvent {
  readonly unitId: number;
  readonly intersectionId: string;
  readonly kind: 'mismatch' | 'pushed' | 'push-failed' | 'unreachable' | 'reachable';
  /** mismatch: the plan id the controller runs; pushed: the id it accepted. */
  readonly foundPlanId?: number;
  readonly expectedPlanId?: number;
  readonly atMs: number;
}

interface UnitSync {
  readonly endpoint: AnyControllerEndpoint;
  readonly name: string;
  /** Plan id the controller last accepted from us; 0 = none confirmed yet. */
  expectedPlanId: number;
  /** Pushes in flight: a check skips the unit meanwhile (the push's own read-back decides). */
  pushing: number;
  checking: boolean;
  lastUptimeS: number;
  reachable: boolean;
  /** The last mismatch logged and when, and the last push failure: a controller that keeps refusing is logged once a minute, not every check. */
  lastMismatch: string;
  lastMismatchLogMs: number;
  lastFailure: string;
  /** Checks on plan since its timing was last read back. */
  sinceTimingCheck: number;
}

/** A repeated, unchanged mismatch is logged again after this long. */
const REPEAT_LOG_MS = 60_000;

const MAX_EVENTS = 1000;

export class PlanResync {
  private readonly units: UnitSync[];
  private timer: NodeJS.Timeout | undefined;
  private readonly log: (line: string) => void;
  /** Recent events, oldest first (bounded). */
  readonly events: ResyncEvent[] = [];

  constructor(
    private readonly c: CompiledNetwork,
    private readonly client: ControllerClient,
    endpoints: readonly AnyControllerEndpoint[],
    /** The plan the controllers should run, read at each push (the service's current plan). */
    private readonly currentPlan: () => PlanBuffer,
    private readonly opts: PlanResyncOptions = {},
  ) {
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.units = endpoints.map((e) => ({
      endpoint: e,
      name: `${c.intersectionIds[e.intersection]} (unit ${e.unitId} at ${e.transport === 'rtu' ? e.path : `${e.host}:${e.port}`})`,
      expectedPlanId: 0,
      pushing: 0,
      checking: false,
      lastUptimeS: -1,
      reachable: true,
      lastMismatch: '',
      lastMismatchLogMs: 0,
      lastFailure: '',
      sinceTimingCheck: 0,
    }));
    const every = opts.timingCheckEvery ?? DEFAULT_TIMING_CHECK_EVERY;
    if (!(Number.isInteger(every) && every >= 0)) throw new OptionError('timingCheckEvery', `${every} must be a whole number ≥ 0`);
    this.timingCheckEvery = every;
    this.expectedBlock = new Uint16Array(PLAN_BLOCK_LENGTH);
  }

  private readonly timingCheckEvery: number;
  /** Scratch for the current plan's block under the expected id (checks of different units never interleave between encode and compare). */
  private readonly expectedBlock: Uint16Array;

  /** Starts the periodic check. */
  start(): void {
    const periodMs = this.opts.periodMs ?? DEFAULT_RESYNC_PERIOD_MS;
    if (!(Number.isFinite(periodMs) && periodMs >= 0)) throw new OptionError('periodMs', `${periodMs} must be ≥ 0`);
    if (periodMs === 0 || this.timer) return;
    this.timer = setInterval(() => void this.checkAll(), periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Controllers that answered their last status check (all of them until a check says otherwise). */
  reachableCount(): number {
    let n = 0;
    for (const u of this.units) if (u.reachable) n++;
    return n;
  }

  /** Controllers this re-sync keeps. */
  get size(): number {
    return this.units.length;
  }

  /** The plan id each controller is expected to run (0 = none confirmed yet), by unit id. */
  expected(): Map<number, number> {
    return new Map(this.units.map((u) => [u.endpoint.unitId, u.expectedPlanId]));
  }

  /** From now on, the controller of `unitId` is expected to run (or have pending) plan `planId`: someone else (the deployer) sends it. */
  expect(unitId: number, planId: number): void {
    for (const u of this.units) if (u.endpoint.unitId === unitId) u.expectedPlanId = planId;
  }

  /** Pushes the current plan to every controller (start, Replan). Resolves when every push settled; never rejects. */
  pushAll(): Promise<void> {
    return Promise.all(this.units.map((u) => this.push(u))).then(() => undefined);
  }

  /** One round: reads every controller's status and re-pushes where it does not run the expected plan. Never rejects. */
  checkAll(): Promise<void> {
    return Promise.all(this.units.map((u) => this.check(u))).then(() => undefined);
  }

  private async check(u: UnitSync): Promise<void> {
    if (u.checking || u.pushing > 0) return;
    u.checking = true;
    try {
      let st: ControllerStatus;
      try {
        st = await this.client.readStatus(u.endpoint.unitId);
      } catch (e: unknown) {
        if (u.reachable) {
          u.reachable = false;
          this.note(u, 'unreachable', {});
          this.log(`greenwave: controller ${u.name} is unreachable (${message(e)}); its plan is checked again when it answers`);
        }
        return;
      }
      if (!u.reachable) {
        u.reachable = true;
        this.note(u, 'reachable', {});
        this.log(`greenwave: controller ${u.name} answers again (uptime ${st.uptimeS} s)`);
      }
      const restarted = u.lastUptimeS >= 0 && st.uptimeS < u.lastUptimeS;
      u.lastUptimeS = st.uptimeS;
      const expected = u.expectedPlanId;
      const onPlan = expected !== 0 && (st.activePlanId === expected || st.pendingPlanId === expected);
      let drift: string | undefined;
      if (onPlan && !restarted) {
        if (st.activePlanId !== expected || this.timingCheckEvery === 0 || ++u.sinceTimingCheck < this.timingCheckEvery) return;
        u.sinceTimingCheck = 0;
        drift = await this.timingDrift(u, expected);
        if (drift === undefined) return;
      }
      const found = st.activePlanId === 0 ? 'plan 0 (its local plan)' : `plan ${st.activePlanId}`;
      const want = expected === 0 ? "greenwave's current plan (none confirmed yet)" : `plan ${expected}`;
      const why = restarted ? `, restarted (uptime ${st.uptimeS} s)` : drift !== undefined ? ` with other timing (${drift})` : '';
      this.note(u, 'mismatch', { foundPlanId: st.activePlanId, expectedPlanId: expected });
      const line = drift !== undefined ? `greenwave: controller ${u.name} runs ${found}${why}: pushing the current plan again` : `greenwave: controller ${u.name} runs ${found}, expected ${want}${why}: pushing the current plan again`;
      const now = Date.now();
      if (line !== u.lastMismatch || now - u.lastMismatchLogMs >= REPEAT_LOG_MS) {
        u.lastMismatch = line;
        u.lastMismatchLogMs = now;
        this.log(line);
      }
    } finally {
      u.checking = false;
    }
    await this.push(u);
  }

  /**
   * Reads the active plan block and compares it with the current plan under `planId`: the
   * first register that differs, or undefined when they agree. A read that fails (torn, timed
   * out) says nothing: the next timing check reads again.
   */
  private async timingDrift(u: UnitSync, planId: number): Promise<string | undefined> {
    let active: Uint16Array;
    try {
      active = await this.client.readActivePlan(u.endpoint.unitId);
    } catch {
      u.sinceTimingCheck = this.timingCheckEvery;
      return undefined;
    }
    const want = encodePlanBlock(this.c, u.endpoint.intersection, this.currentPlan(), planId, this.expectedBlock);
    for (let k = 0; k < PLAN_BLOCK_LENGTH; k++) if (active[k] !== want[k]) return `register ${HR_ACTIVE + k} reads ${active[k]}, ${want[k]} expected`;
    return undefined;
  }

  private async push(u: UnitSync): Promise<void> {
    u.pushing++;
    try {
      const planId = this.opts.planId?.();
      const r = await this.client.pushPlan(u.endpoint.unitId, this.currentPlan(), planId !== undefined ? { planId } : {});
      u.expectedPlanId = r.planId;
      u.lastMismatch = '';
      u.lastFailure = '';
      this.note(u, 'pushed', { foundPlanId: r.planId, expectedPlanId: r.planId });
      this.log(`greenwave: controller ${u.name} accepted plan ${r.planId} (${r.state === 'active' ? 'running' : 'from its next cycle zero'})`);
    } catch (e: unknown) {
      const text = `${this.c.intersectionIds[u.endpoint.intersection]} base plan: ${message(e)}`;
      this.note(u, 'push-failed', {});
      // The same failure again (a controller that keeps refusing) is recorded and logged once.
      if (text !== u.lastFailure) {
        u.lastFailure = text;
        this.opts.onFailure?.(text);
        if (u.reachable) this.log(`greenwave: controller ${u.name}: plan push failed (${message(e)}); retried at the next check`);
      }
    } finally {
      u.pushing--;
    }
  }

  private note(u: UnitSync, kind: ResyncEvent['kind'], ids: { foundPlanId?: number; expectedPlanId?: number }): void {
    this.events.push({ unitId: u.endpoint.unitId, intersectionId: this.c.intersectionIds[u.endpoint.intersection]!, kind, ...ids, atMs: Date.now() });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    this.opts.onEvent?.(kind);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
