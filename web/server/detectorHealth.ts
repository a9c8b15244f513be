/**
 * Detector health as the planner saw it, for the console's network and
 * intersection pages: from the service's counts (ServiceState.prepared, checked
 * by engine/counts/faults.ts when the service loaded them), per detector its
 * faults over the whole counts file, the cells of the health window around the
 * planned interval that were flagged and what the planner put in their place
 * (neighbours, profile, interpolation), whether the detector counts as healthy
 * for the plan, and the intersections whose demand fell back to history
 * (engine/counts/blackout.ts, recomputed by engine/demand.ts demandFor exactly
 * as the plan was made). Computed once per counts and planned interval; the
 * console shows it when no counts were collected from the controllers lately
 * (./liveDetectorHealth.ts, which judges those with detectorsInWindow below).
 */
import { HEALTH_WINDOW_INTERVALS, type BlackoutFallback } from '../../engine/counts/blackout.js';
import { type DetectorCounts, formatTimestamp, parseTimestamp } from '../../engine/counts/csv.js';
import { detectorTopology, type DetectorTopology, FAULT_KINDS, type FaultKind, type FaultReport, type SubstitutionMethod } from '../../engine/counts/faults.js';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { demandFor, type PreparedCounts } from '../../engine/demand.js';
import type { ServiceState } from '../../service/state.js';

export interface SubstitutedCell {
  readonly intervalStart: string;
  readonly fault: FaultKind;
  /** The raw volume, veh per interval; null when it was missing. */
  readonly observedVeh: number | null;
  readonly substitutedVeh: number;
  readonly method: SubstitutionMethod;
  readonly note?: string;
}

export interface DetectorHealth {
  readonly id: string;
  readonly intersectionId: string;
  readonly laneId: string;
  readonly kind: 'stopLine' | 'advance';
  readonly approach: string;
  /** At least half of its cells in the health window passed the fault checks (blackout.ts's rule). */
  readonly healthy: boolean;
  /** Flagged intervals per kind over the whole counts file (collected: over the counts checked). */
  readonly faultsInFile: Readonly<Record<FaultKind, number>>;
  /** The health window's flagged cells and what the planner used instead. */
  readonly substituted: readonly SubstitutedCell[];
}

export interface HealthReport {
  /**
   * `startup`: the planner's view of the counts file the service started with (the health window
   * before the planned interval); `collected`: the counts the service collected from the
   * controllers over the last intervals (./liveDetectorHealth.ts).
   */
  readonly source: 'startup' | 'collected';
  /** The planned interval and the health window's first and last interval (local wall time). */
  readonly forInterval: string;
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly intervalS: number;
  readonly detectors: readonly DetectorHealth[];
  /** Intersections planned on their historical profile because too few detectors were healthy. */
  readonly fallbacks: readonly BlackoutFallback[];
}

const cache = new WeakMap<PreparedCounts, Map<string, HealthReport>>();

/** The health report for the counts and planned interval the service runs on now. */
export function detectorHealth(state: ServiceState): HealthReport {
  let byInterval = cache.get(state.prepared);
  if (!byInterval) {
    byInterval = new Map();
    cache.set(state.prepared, byInterval);
  }
  let r = byInterval.get(state.forInterval);
  if (!r) {
    r = compute(state);
    byInterval.set(state.forInterval, r);
  }
  return r;
}

function compute(state: ServiceState): HealthReport {
  const { prepared, c } = state;
  const raw = prepared.counts;
  const nI = raw.intervalStartMs.length;
  const forMs = parseTimestamp(state.forInterval);
  const at = forMs === undefined ? -1 : raw.intervalStartMs.indexOf(forMs);
  // The planned interval's index: the file's length when it is the interval after the file (as demandFor).
  const target = at >= 0 ? at : nI;
  const w0 = Math.max(0, target - HEALTH_WINDOW_INTERVALS);
  const w1 = Math.min(target, nI - 1);
  const hhmm = state.forInterval.slice(11, 16);
  const fallbacks = demandFor(prepared, at >= 0 ? hhmm : undefined).fallbacks;
  return {
    source: 'startup',
    forInterval: state.forInterval,
    windowFrom: formatTimestamp(raw.intervalStartMs[w0]!),
    windowTo: formatTimestamp(raw.intervalStartMs[w1]!),
    intervalS: raw.intervalS,
    detectors: detectorsInWindow(c, detectorTopology(c.network), raw, prepared.faults, w0, w1),
    fallbacks,
  };
}

/**
 * Each detector's health over intervals w0..w1 of `raw`, given the fault checks' report on it
 * (engine/counts/faults.ts cleanCounts): healthy when at least half of its cells there passed the
 * checks and had a reading (engine/counts/blackout.ts's rule), its flagged intervals per kind over
 * all of `raw`, and the window's flagged cells with the estimate put in their place. Shared by the
 * start-up view above and the live view of the collected counts (./liveDetectorHealth.ts).
 */
export function detectorsInWindow(c: CompiledNetwork, topology: DetectorTopology, raw: DetectorCounts, faults: FaultReport, w0: number, w1: number): DetectorHealth[] {
  const fromMs = raw.intervalStartMs[w0]!;
  const toMs = raw.intervalStartMs[w1]!;
  const inFile = new Map(faults.faultyDetectors.map((f) => [f.detectorId, f.faults]));
  const cells = new Map<string, SubstitutedCell[]>();
  for (const s of faults.substitutions) {
    if (s.intervalStartMs < fromMs || s.intervalStartMs > toMs) continue;
    const list = cells.get(s.detectorId) ?? [];
    list.push({ intervalStart: formatTimestamp(s.intervalStartMs), fault: s.fault, observedVeh: Number.isFinite(s.observed) ? s.observed : null, substitutedVeh: Math.round(s.substituted * 10) / 10, method: s.method, ...(s.note ? { note: s.note } : {}) });
    cells.set(s.detectorId, list);
  }
  const n = w1 - w0 + 1;
  const nD = raw.detectorIds.length;
  const column = new Map(raw.detectorIds.map((id, d) => [id, d]));
  return topology.detectors.map((d): DetectorHealth => {
    const flagged = cells.get(d.id) ?? [];
    const col = column.get(d.id);
    // Healthy cells: not flagged and with a reading (blackout.ts's healthyCell).
    let ok = 0;
    for (let t = w0; t <= w1 && col !== undefined; t++) if (Number.isFinite(raw.volumeVeh[t * nD + col]!) && !flagged.some((x) => x.intervalStart === formatTimestamp(raw.intervalStartMs[t]!))) ok++;
    const counts = inFile.get(d.id);
    return {
      id: d.id,
      intersectionId: c.intersectionIds[d.intersectionIndex]!,
      laneId: d.laneId,
      kind: d.kind,
      approach: d.approachId,
      healthy: n > 0 && ok * 2 >= n,
      faultsInFile: Object.fromEntries(FAULT_KINDS.map((k) => [k, counts?.[k] ?? 0])) as Record<FaultKind, number>,
      substituted: flagged,
    };
  });
}
