/**
 * SUMO in the loop: SUMO is the world, greenwave runs the signals. SUMO is
 * started with a TraCI port; every second greenwave's one cycle runner gives
 * the lamps, which are written into SUMO as each traffic light's state
 * string, and SUMO's induction loops (one per signalised lane, subscribed)
 * are counted back as detector volumes. With `adaptive`, every interval the
 * counts go through the engine's fault cleaning and planner, and the new plan
 * reaches the lamps through the runner's transition rules, as in the
 * simulator's closed loop. A monitor watches what SUMO is sent: a link that
 * goes from green to red without yellow, a yellow shorter than the
 * intersection's, or two conflicting phases active together.
 * Called by `greenwave sumo run` (cli/sumo.ts), bench/insumo and the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { CompiledNetwork } from '../../../engine/network/compile.js';
import type { PlanBuffer } from '../../../engine/timing/planner.js';
import type { ActuatedPlan } from '../../../engine/timing/actuated.js';
import { cleanCounts, detectorTopology } from '../../../engine/counts/faults.js';
import { planNetwork } from '../../../engine/plan.js';
import { alignOffsets } from '../../closedLoop.js';
import { Simulation } from '../../simulation.js';
import { movementFlowsFromCounts } from '../../demand.js';
import { CycleRunner, type ScheduleSource } from '../../../engine/runner/cycleRunner.js';
import type { BusDispatch } from './busDispatch.js';
import type { DetectorCounts } from '../../../engine/counts/csv.js';
import { GreenwaveError, ErrorCode } from '../../../engine/errors.js';
import type { SumoMapping } from '../importNet.js';
import { rankInSumo } from '../sumoCheck.js';
import { parseMovementId } from '../../../engine/network/geometry.js';
import { e1Additional, SUMO_EPOCH_MS } from '../e1.js';
import { readTripinfo, type TripinfoSummary } from '../tripinfo.js';
import { LAST_STEP_OCCUPANCY, LAST_STEP_VEHICLE_ID_LIST, TraciClient } from './traci.js';

export interface InSumoOptions {
  readonly netPath: string;
  readonly routesPath: string;
  /** Folder for the loops file and SUMO's outputs. */
  readonly dir: string;
  readonly seed: number;
  readonly endS: number;
  /** Re-plan from the loops every this many seconds (adaptive); absent: the plan runs fixed. */
  readonly replanEveryS?: number;
  /** Largest cycle change per re-plan, s (default 15). */
  readonly maxCycleStepS?: number;
  /** Exponential smoothing weight of the newest counts (default 0.6). */
  readonly smoothing?: number;
  /** Smallest cycle change that justifies switching plans, s (default 8). */
  readonly minCycleChangeS?: number;
  /**
   * Check each re-plan in greenwave's simulator before it goes to SUMO: the planner's plan and
   * `alternatives` runners-up, and the running plan, are each run on the counted demand for
   * `horizonS`; the best is kept, and the running one stays unless another beats it by
   * `switchMargin` (a plan change costs a transition). Without it every re-plan is applied.
   */
  readonly check?: {
    readonly alternatives: number;
    readonly horizonS: number;
    readonly switchMargin: number;
    /**
     * Who judges (default 'greenwave': our simulator). 'sumo': the shortlist is run in SUMO itself
     * on demand sampled from the counts (simulator/sumo/sumoCheck.ts, as `sumo plan --check sumo`),
     * for `horizonS`, with the running plan among them (kept unless beaten by `switchMargin`).
     */
    readonly judge?: 'greenwave' | 'sumo';
  };
  readonly sumoBinary?: string;
  /**
   * Transit priority through greenwave's service: the runner follows `schedule` (the service's
   * TSP controller, `cycleAt`) and every bus (vehicle id starting with `busPrefix`) checks in
   * over gRPC through `dispatch`. `clock` is told the simulated time before each step, for the
   * service's clock.
   */
  readonly priority?: { readonly schedule: ScheduleSource; readonly dispatch: BusDispatch; readonly busPrefix: string; readonly clock: (tS: number) => void };
  /**
   * Run the signals actuated, as field controllers do, rather than fixed time: the settings for a
   * plan (engine/timing/actuated.ts `actuatedPlan`: actuated-coordinated where a corridor
   * coordinates, fully actuated elsewhere), asked again for every re-plan. Each second a loop
   * SUMO saw a vehicle on actuates its lane's phase (extends its green or calls it), as the
   * simulator's heads are fed (simulator/detectors.ts `feedHeads`).
   */
  readonly actuated?: (plan: PlanBuffer) => ActuatedPlan;
  /** More SUMO options (e.g. `--tripinfo-output.write-unfinished true`). */
  readonly sumoArgs?: readonly string[];
  /** Told of every re-plan: when, the vehicles counted in the interval, the planned cycles, and whether it was applied. */
  readonly onReplan?: (r: ReplanReport) => void;
}

export interface ReplanReport {
  readonly tS: number;
  readonly countedVeh: number;
  readonly cyclesS: readonly number[];
  readonly applied: boolean;
}

export interface InSumoResult {
  readonly trips: TripinfoSummary;
  /** SUMO's tripinfo output of the run (per vehicle). */
  readonly tripinfoPath: string;
  readonly replans: number;
  readonly planSwitches: number;
  /** Lamp-level safety events seen in what SUMO was sent (all should be 0). */
  readonly conflicts: number;
  readonly shortClearances: number;
  readonly firstViolation: string;
  readonly stepsRun: number;
  readonly wallS: number;
  /** What greenwave counted from SUMO's loops, per interval (only with `replanEveryS`). */
  readonly counts: DetectorCounts | undefined;
  /** With `actuated`: the runner's actuated decisions over the run (greens ended by a gap, at the maximum, at a force-off; phases skipped). */
  readonly actuation?: { readonly gapOuts: number; readonly maxOuts: number; readonly forceOffs: number; readonly skips: number };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** One state string per traffic light from the runner's lamps (SUMO link index → letter). */
class StateWriter {
  private readonly last = new Map<string, string>();
  /** Per mapped light: its intersection index, per SUMO link the movement bit (0: not a modelled movement), and the stages an unmodelled leg follows. */
  private readonly lights: { tlsId: string; i: number; bits: number[]; follows: (readonly string[] | undefined)[] }[];
  constructor(
    private readonly c: CompiledNetwork,
    mapping: SumoMapping,
    private readonly heads: CycleRunner,
  ) {
    this.lights = mapping.intersections
      .map((m) => ({
        tlsId: m.tlsId,
        i: c.intersectionIds.indexOf(m.intersectionId),
        bits: m.links.map((info) => {
          const ref = info?.movement !== undefined ? parseMovementId(info.movement) : undefined;
          return ref ? 1 << ref.index : 0;
        }),
        follows: m.links.map((info) => (info && info.movement === undefined ? info.follows : undefined)),
      }))
      .filter((x) => x.i >= 0);
  }

  /** The traffic lights whose state changed since the last call, with their new state. */
  changed(): Map<string, string> {
    const out = new Map<string, string>();
    const { c, heads } = this;
    for (const light of this.lights) {
      const i = light.i;
      const g = heads.greenMask[i]!;
      const y = heads.yellowMask[i]!;
      const p = heads.permittedMask[i]!;
      const active = heads.activePhases(i);
      const p0 = c.phaseStart[i]!;
      let state = '';
      for (let l = 0; l < light.bits.length; l++) {
        const bit = light.bits[l]!;
        const follows = light.follows[l];
        if (bit !== 0) state += g & bit ? (p & bit ? 'g' : 'G') : y & bit ? 'y' : 'r';
        else if (follows) {
          // A leg greenwave does not model follows the stages SUMO gave it, yielding.
          let on = false;
          for (const stage of follows) {
            const k = c.phaseIds.indexOf(stage, p0);
            if (k >= 0 && k < c.phaseStart[i + 1]! && (active >> (k - p0)) & 1) on = true;
          }
          state += on ? (g !== 0 ? 'g' : y !== 0 ? 'y' : 'r') : 'r';
        } else state += 'r';
      }
      if (this.last.get(light.tlsId) !== state) {
        out.set(light.tlsId, state);
        this.last.set(light.tlsId, state);
      }
    }
    return out;
  }
}

/** Watches the letters sent to SUMO: no green straight to red, no yellow shorter than the intersection's, no conflicting phases. */
export class LampMonitor {
  conflicts = 0;
  shortClearances = 0;
  first = '';
  private readonly letter = new Map<string, string[]>();
  private readonly since = new Map<string, number[]>();
  /** Per light, the shortest yellow of its intersection's phases. */
  private readonly minYellowS = new Map<string, number>();
  constructor(
    private readonly c: CompiledNetwork,
    mapping: SumoMapping,
  ) {
    for (const m of mapping.intersections) {
      const i = c.intersectionIds.indexOf(m.intersectionId);
      if (i < 0) continue;
      let minYellow = Infinity;
      for (let q = c.phaseStart[i]!; q < c.phaseStart[i + 1]!; q++) minYellow = Math.min(minYellow, c.phaseYellowS[q]!);
      this.minYellowS.set(m.tlsId, minYellow);
    }
  }

  observe(tS: number, changed: ReadonlyMap<string, string>, heads: CycleRunner): void {
    const c = this.c;
    for (const [tlsId, state] of changed) {
      const minYellow = this.minYellowS.get(tlsId) ?? 0;
      const prev = this.letter.get(tlsId);
      const since = this.since.get(tlsId) ?? new Array<number>(state.length).fill(0);
      for (let l = 0; l < state.length; l++) {
        const before = prev?.[l];
        const now = state[l]!;
        if (before === now) continue;
        if ((before === 'G' || before === 'g') && now === 'r') this.flag('short', `${tlsId} link ${l} at ${tS} s: green to red without yellow`);
        if (before === 'y' && now === 'r' && tS - since[l]! < minYellow - 1e-6) this.flag('short', `${tlsId} link ${l} at ${tS} s: yellow of ${tS - since[l]!} s, the intersection's is ${minYellow} s`);
        since[l] = tS;
      }
      this.letter.set(tlsId, [...state]);
      this.since.set(tlsId, since);
    }
    for (let i = 0; i < c.intersectionCount; i++) {
      const active = heads.activePhases(i);
      const p0 = c.phaseStart[i]!;
      for (let p = p0; p < c.phaseStart[i + 1]!; p++) {
        const bit = 1 << (p - p0);
        if ((active & bit) !== 0 && (c.phaseConflictMask[p]! & active & ~bit) !== 0) this.flag('conflict', `${c.intersectionIds[i]} at ${tS} s: phase ${c.phaseIds[p]} active with a conflicting phase`);
      }
    }
  }

  private flag(kind: 'short' | 'conflict', what: string): void {
    if (kind === 'short') this.shortClearances++;
    else this.conflicts++;
    this.first ||= what;
  }
}

/** Runs the scenario in SUMO with greenwave's runner driving every imported signal. */
export async function runInSumo(c: CompiledNetwork, mapping: SumoMapping, plan: PlanBuffer, o: InSumoOptions): Promise<InSumoResult> {
  const t0 = performance.now();
  const loopsPath = join(o.dir, 'bridge-loops.add.xml');
  writeFileSync(loopsPath, e1Additional(mapping, { periodS: o.replanEveryS ?? 900, file: 'bridge-e1.xml' }));
  const tripinfoPath = join(o.dir, 'bridge-tripinfo.xml');
  const port = await freePort();
  const sumo: ChildProcess = spawn(o.sumoBinary ?? 'sumo', ['-n', o.netPath, '-r', o.routesPath, '-a', loopsPath, '--remote-port', String(port), '--seed', String(o.seed), '--end', String(o.endS), '--no-step-log', '--time-to-teleport', '300', '--tripinfo-output', tripinfoPath, ...(o.sumoArgs ?? [])], { cwd: o.dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SUMO_HOME: process.env['SUMO_HOME'] ?? '/usr/share/sumo' } });
  let stderr = '';
  sumo.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => sumo.on('exit', (code) => resolve(code)));
  const traci = new TraciClient();
  const heads = new CycleRunner(c, plan, 0);
  // Start as a field controller does after power-up: all red until each signal's cycle zero,
  // rather than in the middle of a yellow (which SUMO would show for the rest of that yellow only).
  for (let i = 0; i < c.intersectionCount; i++) heads.holdRedUntilCycleZero(i);
  // Actuated from that first cycle zero on (the runner takes actuated settings at a plan cycle zero).
  if (o.actuated) heads.setActuated(o.actuated(plan));
  const writer = new StateWriter(c, mapping, heads);
  const monitor = new LampMonitor(c, mapping);
  const nd = c.detectorIds.length;
  const loopIds = c.detectorIds.slice();
  const seen: Set<string>[] = loopIds.map(() => new Set());
  const volume = new Float64Array(nd);
  const occupancy = new Float64Array(nd);
  const history: { volume: Float64Array; occupancy: Float64Array; startMs: number }[] = [];
  const every = o.replanEveryS;
  const topology = detectorTopology(c.network);
  const smoothed = new Float64Array(nd);
  const alpha = o.smoothing ?? 0.6;
  const step = o.maxCycleStepS ?? 15;
  const lastCycle = Float64Array.from(plan.cycleS);
  let lastPlan = plan;
  let primed = false;
  let counts: DetectorCounts | undefined;
  let replans = 0;
  let steps = 0;
  try {
    await traci.connect(port);
    await traci.subscribeLoops(loopIds, [LAST_STEP_VEHICLE_ID_LIST, LAST_STEP_OCCUPANCY]);
    let intervalStart = 0;
    if (o.priority) heads.setScheduleSource(o.priority.schedule);
    for (let t = 0; t < o.endS; t++) {
      if (o.priority) {
        o.priority.clock(t);
        const prefix = o.priority.busPrefix;
        const buses = (await traci.vehicleIds()).filter((id) => id.startsWith(prefix));
        await o.priority.dispatch.observe(t, await traci.vehicleStates(buses));
      }
      heads.update(t);
      const changed = writer.changed();
      monitor.observe(t, changed, heads);
      const values = await traci.step(changed, t + 1);
      steps++;
      for (let d = 0; d < nd; d++) {
        const v = values.get(loopIds[d]!);
        if (!v) continue;
        const ids = (v.get(LAST_STEP_VEHICLE_ID_LIST) as string[] | undefined) ?? [];
        const now = new Set(ids);
        for (const id of ids) if (!seen[d]!.has(id)) volume[d] = volume[d]! + 1;
        seen[d] = now;
        // A vehicle on the loop during the step just run: its lane's phase is extended or called.
        if (o.actuated && ids.length > 0) {
          const p = c.lanePhase[c.detectorLane[d]!]!;
          if (p >= 0) heads.actuate(p, t + 1);
        }
        occupancy[d] = occupancy[d]! + Number(v.get(LAST_STEP_OCCUPANCY) ?? 0); // percent of the step
      }
      if (every !== undefined && t + 1 - intervalStart >= every) {
        const lenS = t + 1 - intervalStart;
        history.push({ volume: volume.slice(), occupancy: occupancy.map((x) => x / lenS), startMs: SUMO_EPOCH_MS + intervalStart * 1000 });
        volume.fill(0);
        occupancy.fill(0);
        intervalStart = t + 1;
        // Re-plan from the loops, as the closed loop in our simulator does (no look-ahead: there is no fork of SUMO).
        counts = {
          detectorIds: loopIds,
          intervalS: every,
          intervalStartMs: Float64Array.from(history, (h) => h.startMs),
          volumeVeh: concat(history.map((h) => h.volume)),
          occupancyPct: concat(history.map((h) => h.occupancy)),
        };
        const report = cleanCounts(counts, topology);
        const last = report.cleaned.volumeVeh.subarray((history.length - 1) * nd);
        for (let d = 0; d < nd; d++) smoothed[d] = primed ? alpha * last[d]! + (1 - alpha) * smoothed[d]! : last[d]!;
        primed = true;
        replans++;
        const limMin = Float64Array.from(lastCycle, (x) => x - step);
        const limMax = Float64Array.from(lastCycle, (x) => x + step);
        let next: PlanBuffer;
        const counted = last.reduce((a, b) => a + b, 0);
        if (o.check) {
          const picked = o.check.judge === 'sumo' ? sumoJudgedReplan(c, mapping, o.netPath, smoothed, every, limMin, limMax, lastPlan, o.check, o.seed) : checkedReplan(c, smoothed, every, limMin, limMax, lastPlan, o.check, o.actuated);
          o.onReplan?.({ tS: t + 1, countedVeh: counted, cyclesS: [...(picked ?? lastPlan).cycleS], applied: picked !== undefined });
          if (!picked) continue;
          next = picked;
        } else {
          next = planNetwork(c, smoothed, every, { cycleLimitMinS: limMin, cycleLimitMaxS: limMax }).buffer;
          // As the simulator's closed loop: switch only for a cycle change worth a transition.
          let worth = false;
          for (let i = 0; i < c.intersectionCount; i++) if (Math.abs(next.cycleS[i]! - lastCycle[i]!) >= (o.minCycleChangeS ?? 8)) worth = true;
          o.onReplan?.({ tS: t + 1, countedVeh: counted, cyclesS: [...next.cycleS], applied: worth });
          if (!worth) continue;
        }
        lastPlan = next;
        alignOffsets(c, next, heads);
        const settings = o.actuated?.(next);
        for (let i = 0; i < c.intersectionCount; i++) {
          if (settings) heads.setPlanWithSettings(next, i, settings);
          else heads.setPlan(next, i);
          lastCycle[i] = next.cycleS[i]!;
        }
      }
      if (t % 60 === 59 && (await traci.minExpectedVehicles()) === 0) break;
    }
    await traci.close();
  } catch (e) {
    sumo.kill('SIGKILL');
    throw e instanceof GreenwaveError ? new GreenwaveError(e.code, `${e.message}${stderr ? `\nSUMO: ${stderr.slice(0, 1000)}` : ''}`) : e;
  }
  const code = await exited;
  if (code !== 0) throw new GreenwaveError(ErrorCode.Io, `SUMO exited with ${code}: ${stderr.slice(0, 1000)}`);
  return {
    trips: readTripinfo(readFileSync(tripinfoPath, 'utf8')),
    tripinfoPath,
    replans,
    planSwitches: heads.planSwitches,
    conflicts: monitor.conflicts,
    shortClearances: monitor.shortClearances,
    firstViolation: monitor.first,
    stepsRun: steps,
    wallS: (performance.now() - t0) / 1000,
    counts,
    ...(o.actuated ? { actuation: { gapOuts: heads.act.gapOuts, maxOuts: heads.act.maxOuts, forceOffs: heads.act.forceOffs, skips: heads.act.skips } } : {}),
  };
}

/**
 * The re-plan to apply, judged in greenwave's simulator on the counted demand (turns fitted
 * between neighbouring signals, as `sumo plan`'s check): undefined to keep the running plan.
 */
function checkedReplan(c: CompiledNetwork, volume: Float64Array, intervalS: number, limMin: Float64Array, limMax: Float64Array, running: PlanBuffer, check: NonNullable<InSumoOptions['check']>, actuated?: InSumoOptions['actuated']): PlanBuffer | undefined {
  const planned = planNetwork(c, volume, intervalS, { cycleLimitMinS: limMin, cycleLimitMaxS: limMax, alternatives: check.alternatives });
  const flows = movementFlowsFromCounts(c, planned.buffer.laneFlowVehPerH);
  // Each plan judged as it would run: actuated when the signals run actuated.
  const judge = (b: PlanBuffer): number => {
    const sim = new Simulation(c, b, { movementFlowVehPerH: flows }, { seed: 1, stepS: 1, ...(actuated ? { actuated: actuated(b) } : {}) });
    sim.runUntil(check.horizonS);
    return sim.accumulatedDelayS();
  };
  const keep = judge(running);
  let best: PlanBuffer | undefined;
  let bestDelay = Infinity;
  for (const alt of planned.alternatives.length > 0 ? planned.alternatives.map((a) => a.buffer) : [planned.buffer]) {
    const d = judge(alt);
    if (d < bestDelay) {
      bestDelay = d;
      best = alt;
    }
  }
  return best && bestDelay < keep * (1 - check.switchMargin) ? best : undefined;
}

/**
 * The re-plan SUMO itself ranks first among the planner's shortlist and the running plan, on demand
 * sampled from the counts; undefined to keep the running plan (best, or not `switchMargin` better).
 */
function sumoJudgedReplan(c: CompiledNetwork, mapping: SumoMapping, netPath: string, volume: Float64Array, intervalS: number, limMin: Float64Array, limMax: Float64Array, running: PlanBuffer, check: NonNullable<InSumoOptions['check']>, seed: number): PlanBuffer | undefined {
  const planned = planNetwork(c, volume, intervalS, { cycleLimitMinS: limMin, cycleLimitMaxS: limMax, alternatives: check.alternatives });
  const shortlist = planned.alternatives.length > 0 ? planned.alternatives : [{ label: 'plan', score: 0, buffer: planned.buffer, corridors: planned.corridors }];
  const keep = shortlist.length;
  const ranked = rankInSumo(c, { ...planned, alternatives: [...shortlist, { label: 'running plan', score: 0, buffer: running, corridors: planned.corridors }] }, { netPath, mapping, resolutionS: 1, durationS: check.horizonS, seed });
  if (ranked.chosen === keep) return undefined;
  return ranked.trials[ranked.chosen]!.simulatedDelayS < ranked.trials[keep]!.simulatedDelayS * (1 - check.switchMargin) ? ranked.plan.buffer : undefined;
}

function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}
