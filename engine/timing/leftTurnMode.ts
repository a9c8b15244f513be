/**
 * Left-turn mode: whether a protected left-turn phase is needed for the
 * demand at hand, or the lefts it protects can go permitted (yielding in the
 * through phase) and the phase is omitted from the plan. Omitting an unneeded
 * left phase saves its green and a whole yellow + all-red per cycle, which at
 * light and medium demand is most of the difference between a good and a
 * poor plan. Called by `planFromLoops` (simulator/sumo/plan.ts) before
 * planning; any caller with lane flows can use it.
 *
 * A phase is a candidate when it protects only left turns (or U-turns), has
 * no crosswalk, and every movement it protects is also served by another
 * phase that always runs. It is kept when any of its lefts meets a
 * protection criterion of practice (FHWA Traffic Signal Timing Manual, 2nd
 * ed., FHWA-HOP-08-024, §4.3 left-turn mode; the cross-product thresholds are
 * the manual's):
 *  - safety: the left crosses three or more opposing through lanes, or the
 *    opposing approach is signed 70 km/h (45 mph) or more;
 *  - volume: left-turn × opposing (through + right) volume in the design hour
 *    ≥ 50,000 with one opposing lane, ≥ 90,000 with two;
 *  - capacity: planned without the phase, the lane the left uses would run
 *    at v/c above 0.9 (HCM permitted-left capacity, as the planner computes it).
 * The capacity check plans the network once with the candidates omitted and
 * restores the phases whose lefts would not be served.
 *
 * The result is the network file with the omitted phases marked `onDemand`:
 * every plan skips them (no green, no clearance), and bus priority may still
 * insert one. The one validator checks the new network like any other; a
 * network that does not validate keeps all its phases.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { compileNetwork, phaseIndex } from '../network/compile.js';
import { validateNetwork } from '../network/validate.js';
import { allPhases } from '../network/phaseTiming.js';
import { parseMovementId } from '../network/geometry.js';
import { APPROACH_IDS, type ApproachId, type Network } from '../network/schema.js';
import { createPlanBuffer, laneFlowsFromDetectors, PlanScratch } from './planner.js';
import { planAndValidate } from '../plan.js';
import { movementDemand } from '../corridor/movementDemand.js';

/** Cross-product thresholds (left × opposing veh/h) by opposing through lanes, index = lanes (FHWA-HOP-08-024 §4.3). */
const CROSS_PRODUCT = [0, 50_000, 90_000] as const;
const MAX_OPPOSING_LANES = 2;
const MAX_OPPOSING_SPEED_KPH = 70;
/** A permitted left lane above this v/c needs its protected phase back. */
const MAX_PERMITTED_VC = 0.9;

const OPPOSITE: Record<ApproachId, ApproachId> = { EB: 'WB', WB: 'EB', NB: 'SB', SB: 'NB' };

export interface LeftTurnDecision {
  readonly intersectionId: string;
  readonly phaseId: string;
  readonly omitted: boolean;
  /** Why it was kept, or the numbers that let it go. */
  readonly reason: string;
}

export interface LeftTurnMode {
  /** The network with omitted phases marked onDemand (the input object itself when nothing is omitted). */
  readonly network: Network;
  /** Compiled `network` (the input compiled network when nothing is omitted). */
  readonly compiled: CompiledNetwork;
  readonly decisions: readonly LeftTurnDecision[];
}

/** Decides the left-turn mode of every candidate phase for detector volumes `volumeVeh` per `intervalS` (compiled detector order). */
export function leftTurnMode(c: CompiledNetwork, volumeVeh: Float64Array, intervalS: number, keepPhases?: Uint8Array): LeftTurnMode {
  const buf = createPlanBuffer(c);
  laneFlowsFromDetectors(c, volumeVeh, intervalS, buf);
  const decisions: LeftTurnDecision[] = [];
  const omit = new Map<string, Set<string>>();
  c.network.intersections.forEach((ix, i) => {
    const phases = allPhases(ix);
    phases.forEach((ph, k) => {
      if (ph.onDemand || ph.pedestrian || ph.protected.length === 0) return;
      const refs = ph.protected.map(parseMovementId);
      if (!refs.every((r) => r !== undefined && (r.turn === 'L' || r.turn === 'U'))) return;
      const servedElsewhere = ph.protected.every((id) => phases.some((q, j) => j !== k && !q.onDemand && (q.permitted.includes(id) || q.protected.includes(id))));
      if (!servedElsewhere) return;
      // A phase that alone serves demand the network does not model (a fifth approach's lane) stays.
      let keep = keepPhases !== undefined && keepPhases[phaseIndex(c, i, ph.id)] === 1 ? `${ph.id} is the only stage of a lane greenwave does not model (a fifth approach)` : '';
      const numbers: string[] = [];
      for (const ref of refs) {
        const opp = OPPOSITE[ref!.approach];
        const oppApproach = ix.approaches.find((a) => a.id === opp);
        const oppLanes = oppApproach ? oppApproach.lanes.filter((l) => l.movements.includes('T')).length : 0;
        const left = movementDemand(c, buf, i, ref!.index).flow;
        const oppIndex = APPROACH_IDS.indexOf(opp) * 4;
        const opposing = movementDemand(c, buf, i, oppIndex + 1).flow + movementDemand(c, buf, i, oppIndex + 2).flow;
        const product = left * opposing;
        const name = `${ref!.approach}${ref!.turn}`;
        if (oppLanes > MAX_OPPOSING_LANES) keep ||= `${name} crosses ${oppLanes} opposing lanes`;
        else if ((oppApproach?.speedKph ?? 0) >= MAX_OPPOSING_SPEED_KPH) keep ||= `${name} faces ${oppApproach!.speedKph} km/h opposing traffic`;
        else if (product >= CROSS_PRODUCT[Math.max(1, oppLanes)]!) keep ||= `${name} ${left.toFixed(0)} × opposing ${opposing.toFixed(0)} veh/h = ${product.toFixed(0)} ≥ ${CROSS_PRODUCT[Math.max(1, oppLanes)]}`;
        numbers.push(`${name} ${left.toFixed(0)} × ${opposing.toFixed(0)} veh/h`);
      }
      if (keep) decisions.push({ intersectionId: ix.id, phaseId: ph.id, omitted: false, reason: keep });
      else {
        if (!omit.has(ix.id)) omit.set(ix.id, new Set());
        omit.get(ix.id)!.add(ph.id);
        decisions.push({ intersectionId: ix.id, phaseId: ph.id, omitted: true, reason: `${numbers.join(', ')}: below the cross-product thresholds` });
      }
    });
  });
  if (omit.size === 0) return { network: c.network, compiled: c, decisions };

  // Capacity: plan once without the candidates; a left whose lane would be over-saturated gets its phase back.
  let trial = withOmitted(c.network, omit);
  if (trial) {
    const tc = compileNetwork(trial);
    const tb = createPlanBuffer(tc);
    laneFlowsFromDetectors(tc, volumeVeh, intervalS, tb);
    planAndValidate(tc, tb, new PlanScratch());
    for (let i = 0; i < tc.intersectionCount; i++) {
      const set = omit.get(tc.intersectionIds[i]!);
      if (!set) continue;
      const ix = tc.network.intersections[i]!;
      for (const phaseId of [...set]) {
        const ph = allPhases(ix).find((p) => p.id === phaseId)!;
        let mask = 0;
        for (const id of ph.protected) mask |= 1 << parseMovementId(id)!.index;
        for (let l = tc.laneStart[i]!; l < tc.laneStart[i + 1]!; l++) {
          if ((tc.laneMovementMask[l]! & mask) === 0 || !(tb.laneVc[l]! > MAX_PERMITTED_VC)) continue;
          set.delete(phaseId);
          const d = decisions.findIndex((x) => x.intersectionId === ix.id && x.phaseId === phaseId);
          decisions[d] = { intersectionId: ix.id, phaseId, omitted: false, reason: `lane ${tc.laneIds[l]} would run at v/c ${tb.laneVc[l]!.toFixed(2)} with the lefts permitted only` };
          break;
        }
      }
    }
    trial = withOmitted(c.network, omit);
  }
  if (!trial) {
    // The network does not validate without these phases (a ring left empty…): keep them all.
    return { network: c.network, compiled: c, decisions: decisions.map((d) => (d.omitted ? { ...d, omitted: false, reason: 'kept: the phasing does not validate without it' } : d)) };
  }
  return { network: trial, compiled: compileNetwork(trial), decisions };
}

/** `network` with the listed phases (intersection id → phase ids) marked onDemand, if it still validates. */
function withOmitted(network: Network, omit: ReadonlyMap<string, ReadonlySet<string>>): Network | undefined {
  const copy = structuredClone(network);
  for (const ix of copy.intersections) {
    const set = omit.get(ix.id);
    if (!set) continue;
    for (const ph of allPhases(ix)) if (set.has(ph.id)) (ph as { onDemand: boolean }).onDemand = true;
  }
  const result = validateNetwork(copy);
  return result.ok ? result.network : undefined;
}
