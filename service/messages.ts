/**
 * The gRPC messages of the greenwave service, both ways: requests parsed and
 * validated (INVALID_ARGUMENT naming every bad field, NOT_FOUND for unknown
 * ids), and plans, decisions and SPaT turned into response objects. Called by
 * the handlers in server.ts; pure functions over the service state.
 */
import { IssueList } from '../engine/errors.js';
import type { TspDecision, TspRequest } from '../engine/priority/tsp.js';
import { PriorityClass } from '../engine/priority/policy.js';
import { MOVEMENT_COUNT, THROUGH_TURN, movementId, movementIndex, parseMovementId } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';
import { intersectionSpat } from './spat.js';
import type { ServiceState } from './state.js';

/** What parsing and answering a priority request reads of the state: a cluster node's region has only these (cluster/front.ts). */
export type PriorityState = Pick<ServiceState, 'c' | 'tsp' | 'intersection'>;
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { TimingPlan } from '../engine/plan.js';

// ---- request validation (field paths in every message) ----

export type Obj = Record<string, unknown>;
/** The proto's name of each priority class (greenwave.v1.PriorityClass), and back. */
export const PRIORITY_CLASS_NAME: Readonly<Record<PriorityClass, string>> = {
  [PriorityClass.Other]: 'PRIORITY_CLASS_OTHER',
  [PriorityClass.Bus]: 'PRIORITY_CLASS_BUS',
  [PriorityClass.Emergency]: 'PRIORITY_CLASS_EMERGENCY',
};
const CLASS: Record<string, PriorityClass> = Object.fromEntries(Object.entries(PRIORITY_CLASS_NAME).map(([k, name]) => [name, Number(k) as PriorityClass]));

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
export function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

function checkId(issues: IssueList, path: string, v: string): void {
  if (v.length === 0) issues.add(path, 'must not be empty');
  else if (v.length > 64) issues.add(path, 'must be at most 64 characters');
}

export function timestampToS(t: unknown): number {
  const o = (t ?? {}) as Obj;
  return num(o['seconds']) + num(o['nanos']) / 1e9;
}
export function sToTimestamp(s: number): { seconds: number; nanos: number } {
  if (!Number.isFinite(s)) return { seconds: 0, nanos: 0 };
  const sec = Math.floor(s);
  return { seconds: sec, nanos: Math.round((s - sec) * 1e9) % 1_000_000_000 };
}

/** Parses a PriorityRequest; throws INVALID_ARGUMENT (all problems, with paths) or NOT_FOUND. */
/** `owner`: the client making the request (kept with it when it opens). */
export function parsePriorityRequest(state: PriorityState, r: Obj, nowS: number, prefix = '', owner = ''): TspRequest {
  const issues = new IssueList();
  const f = (name: string): string => `${prefix}${name}`;
  const vehicleId = str(r['vehicle_id']);
  const intersectionId = str(r['intersection_id']);
  checkId(issues, f('vehicle_id'), vehicleId);
  checkId(issues, f('intersection_id'), intersectionId);
  if (str(r['route_id']).length > 64) issues.add(f('route_id'), 'must be at most 64 characters');
  if (str(r['trip_id']).length > 64) issues.add(f('trip_id'), 'must be at most 64 characters');
  let movement = -1;
  const ref = r['movement_ref'];
  if (ref === 'approach') {
    const a = str(r['approach']).replace('APPROACH_', '');
    const idx = (APPROACH_IDS as readonly string[]).indexOf(a);
    if (idx < 0) issues.add(f('approach'), 'must be one of APPROACH_NB, APPROACH_SB, APPROACH_EB, APPROACH_WB');
    else movement = movementIndex(idx, THROUGH_TURN);
  } else if (ref === 'movement') {
    const m = parseMovementId(str(r['movement']));
    if (!m) issues.add(f('movement'), `"${str(r['movement'])}" is not a movement id such as "EBT" or "NBL"`);
    else movement = m.index;
  } else issues.add(f('movement_ref'), 'one of approach or movement is required');
  let arrivalS = Number.NaN;
  if (r['eta'] === 'eta_s') {
    const e = num(r['eta_s']);
    if (!Number.isFinite(e)) issues.add(f('eta_s'), 'must be a finite number');
    else if (e < 0) issues.add(f('eta_s'), 'must be >= 0');
    else arrivalS = nowS + e;
  } else if (r['eta'] === 'eta_time') {
    const t = timestampToS(r['eta_time']);
    if (!Number.isFinite(t) || t < nowS - 5) issues.add(f('eta_time'), 'must not be in the past');
    else arrivalS = Math.max(t, nowS);
  } else issues.add(f('eta'), 'one of eta_s or eta_time is required');
  const latenessS = num(r['lateness_s']);
  if (!Number.isFinite(latenessS) || Math.abs(latenessS) > 86_400) issues.add(f('lateness_s'), 'must be a finite number of seconds within ±86400');
  const headwayS = num(r['headway_s']);
  if (!Number.isFinite(headwayS) || headwayS < 0) issues.add(f('headway_s'), 'must be >= 0');
  const cls = CLASS[str(r['priority_class'])];
  if (cls === undefined) issues.add(f('priority_class'), 'must be PRIORITY_CLASS_EMERGENCY, PRIORITY_CLASS_BUS or PRIORITY_CLASS_OTHER');
  issues.throwIfAny('PriorityRequest');
  const i = state.intersection(intersectionId, f('intersection_id'));
  return { vehicleId, routeId: str(r['route_id']), tripId: str(r['trip_id']), intersection: i, movement, arrivalS, latenessS, occupancy: num(r['occupancy']), headwayS, priorityClass: cls!, owner };
}

const STRATEGY: Record<TspDecision['strategy'], string> = { none: 'STRATEGY_NONE', greenExtension: 'STRATEGY_GREEN_EXTENSION', earlyGreen: 'STRATEGY_EARLY_GREEN', phaseInsertion: 'STRATEGY_PHASE_INSERTION', preemption: 'STRATEGY_PREEMPTION' };
const REASON: Record<TspDecision['reason'], string> = {
  granted: 'REASON_GRANTED',
  alreadyGreen: 'REASON_ALREADY_GREEN',
  notEligible: 'REASON_NOT_ELIGIBLE',
  lockout: 'REASON_LOCKOUT',
  conflict: 'REASON_CONFLICT',
  noRoom: 'REASON_NO_ROOM',
  tooFar: 'REASON_TOO_FAR',
  unsafe: 'REASON_UNSAFE',
  movementNotServed: 'REASON_MOVEMENT_NOT_SERVED',
  preempted: 'REASON_PREEMPTED',
};

export function priorityResponse(state: PriorityState, req: TspRequest, d: TspDecision): Obj {
  return {
    vehicle_id: req.vehicleId,
    intersection_id: state.c.intersectionIds[req.intersection],
    granted: d.granted,
    strategy: STRATEGY[d.strategy],
    expected_time_saved_s: d.savedS,
    reason: REASON[d.reason],
    detail: d.detail,
    phase_id: d.phase >= 0 ? state.c.phaseIds[d.phase] : '',
    adjustment_s: d.adjustmentS,
    green_at: Number.isFinite(d.greenAtS) ? sToTimestamp(d.greenAtS) : null,
  };
}

export function parseCancel(state: PriorityState, r: Obj, prefix = ''): { vehicleId: string; i: number } {
  const issues = new IssueList();
  const vehicleId = str(r['vehicle_id']);
  const intersectionId = str(r['intersection_id']);
  checkId(issues, `${prefix}vehicle_id`, vehicleId);
  checkId(issues, `${prefix}intersection_id`, intersectionId);
  issues.throwIfAny('CancelPriorityRequest');
  return { vehicleId, i: state.intersection(intersectionId, `${prefix}intersection_id`) };
}

function phaseMovements(mask: number): string[] {
  const out: string[] = [];
  for (let m = 0; m < MOVEMENT_COUNT; m++) if (mask & (1 << m)) out.push(movementId(m));
  return out;
}

export function intersectionPlan(state: ServiceState, i: number): Obj {
  return intersectionPlanMessage(state.c, state.plan.plans[i]!, i);
}

/** IntersectionPlan of intersection i from a plan's timing report (the current plan's, or a stored version's). */
export function intersectionPlanMessage(c: CompiledNetwork, tp: TimingPlan, i: number): Obj {
  return {
    intersection_id: tp.intersectionId,
    cycle_s: tp.cycleS,
    offset_s: tp.offsetS,
    delay_s_per_veh: tp.delaySPerVeh,
    los: tp.los,
    phases: tp.phases.map((ph, k) => {
      const p = c.phaseStart[i]! + k;
      return {
        id: ph.id,
        ring: ph.ring,
        barrier: ph.barrier,
        start_s: ph.startS,
        green_s: ph.greenS,
        yellow_s: ph.yellowS,
        all_red_s: ph.allRedS,
        min_green_s: ph.minGreenS,
        protected_movements: phaseMovements(c.phaseProtectedMask[p]!),
        permitted_movements: phaseMovements(c.phasePermittedMask[p]!),
        on_demand: ph.onDemand,
      };
    }),
  };
}

export function spatMessage(state: ServiceState, i: number, tS: number): Obj {
  const s = intersectionSpat(state.c, state.tsp, i, tS);
  return {
    intersection_id: s.intersectionId,
    timestamp: sToTimestamp(tS),
    revision: s.revision,
    cycle_s: s.cycleS,
    cycle_time_s: s.cycleTimeS,
    green_phase_ids: s.greenPhaseIds,
    priority_active: s.priorityActive,
    movements: s.movements.map((m) => ({
      movement_id: m.movementId,
      state: m.state,
      min_end_time: sToTimestamp(m.minEndS),
      likely_end_time: sToTimestamp(m.likelyEndS),
      min_end_in_s: Math.round((m.minEndS - tS) * 1000) / 1000,
      likely_end_in_s: Math.round((m.likelyEndS - tS) * 1000) / 1000,
    })),
  };
}

