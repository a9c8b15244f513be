/**
 * The wire form of a plan between the Replan worker (replanWorker.ts) and the
 * service (replan.ts): one Float64Array holding the forInterval label, each
 * corridor's cycle (in network order, NaN = not coordinated), then every
 * PlanBuffer array in a fixed order. Also the one job input, "HH:MM" as minutes.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { createPlanBuffer, type PlanBuffer } from '../engine/timing/planner.js';
import { timingPlans, type TimingPlan } from '../engine/plan.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';

/** What the service keeps of a plan: the dense buffer, its reporting objects and each corridor's cycle. */
export interface ServicePlan {
  readonly buffer: PlanBuffer;
  readonly plans: TimingPlan[];
  readonly corridors: readonly { readonly corridorId: string; readonly cycleS: number }[];
}

export interface ReplanResult {
  readonly plan: ServicePlan;
  readonly forInterval: string;
}

/** PlanBuffer arrays in wire order (every one is copied; lengths follow from the compiled network). */
const FIELDS = ['cycleS', 'offsetS', 'criticalFlowRatio', 'lostTimeS', 'criticalVc', 'delaySPerVeh', 'flags', 'forcedCycleS', 'cycleLimitMinS', 'cycleLimitMaxS', 'phaseCoordinated', 'phaseMinFlowRatio', 'phaseFlowRatio', 'phaseStartS', 'phaseGreenS', 'phaseYellowS', 'phaseAllRedS', 'laneFlowVehPerH', 'laneCapacityVehPerH', 'laneVc', 'laneDelayS', 'laneSatFactor'] as const satisfies readonly (keyof PlanBuffer)[];
/** Compile-time check that FIELDS lists every PlanBuffer array: a field added to the buffer and not here fails the build. */
const FIELDS_COMPLETE: Exclude<keyof PlanBuffer, (typeof FIELDS)[number]> extends never ? true : never = true;
void FIELDS_COMPLETE;

/** A corridor split into subsystems (CorridorPlan.partOf) travels as the cycle of its first piece. */
export function encodePlan(c: CompiledNetwork, buffer: PlanBuffer, corridors: readonly { corridorId: string; cycleS: number; partOf?: { corridorId: string } }[], forInterval: string): Float64Array {
  const label = [...forInterval].map((ch) => ch.charCodeAt(0));
  let n = 1 + label.length + c.network.corridors.length;
  for (const f of FIELDS) n += buffer[f].length;
  const out = new Float64Array(n);
  let at = 0;
  out[at++] = label.length;
  for (const code of label) out[at++] = code;
  for (const cor of c.network.corridors) out[at++] = corridors.find((x) => x.corridorId === cor.id || x.partOf?.corridorId === cor.id)?.cycleS ?? Number.NaN;
  for (const f of FIELDS) {
    out.set(buffer[f], at);
    at += buffer[f].length;
  }
  return out;
}

export function decodePlan(c: CompiledNetwork, data: Float64Array): ReplanResult {
  let at = 0;
  const len = data[at++]!;
  const forInterval = String.fromCharCode(...data.subarray(at, at + len));
  at += len;
  const corridors: { corridorId: string; cycleS: number }[] = [];
  for (const cor of c.network.corridors) {
    const cycleS = data[at++]!;
    if (!Number.isNaN(cycleS)) corridors.push({ corridorId: cor.id, cycleS });
  }
  const buffer = createPlanBuffer(c);
  for (const f of FIELDS) {
    const dst = buffer[f];
    dst.set(data.subarray(at, at + dst.length));
    at += dst.length;
  }
  if (at !== data.length) throw new GreenwaveError(ErrorCode.Internal, `replan worker answered ${data.length} numbers, expected ${at}`);
  return { plan: { buffer, plans: timingPlans(c, buffer), corridors }, forInterval };
}

/** "HH:MM" → minutes of the day, the job's one input number (the worker turns it back). */
export function minutesOf(at: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(at);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new GreenwaveError(ErrorCode.InvalidInput, 'at', [{ path: 'at', message: 'must be a time of day HH:MM' }]);
  return Number(m[1]) * 60 + Number(m[2]);
}

