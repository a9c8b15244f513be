/**
 * Finds faulty loop detectors in parsed interval counts and replaces their bad
 * volumes with estimates, so timing and prediction never see NaN or junk.
 * Called after `parseCountsCsv` by the planner/CLI; `detectorTopology` is also
 * used by anything that needs a detector's lane and its neighbours.
 *
 * Faults (checked per detector per interval, first match wins):
 *   missing  volume is NaN (no row, or an interval with no rows at all);
 *   stuckOn  occupancy >= STUCK_ON_OCCUPANCY_PCT for >= STUCK_ON_MIN_INTERVALS in a row;
 *   chatter  volume above CHATTER_VEH_PER_H_PER_LANE scaled to the interval;
 *   zero     volume 0 for >= ZERO_MIN_INTERVALS in a row while the healthy neighbours'
 *            mean is >= ZERO_NEIGHBOUR_MIN_VEH_PER_H scaled to the interval.
 * Estimates, in order of preference:
 *   neighbours     mean over healthy neighbours of (neighbour volume x this detector's
 *                  ratio to that neighbour over healthy intervals of the same day);
 *   profile        mean of this detector's healthy volumes at the same time of day on
 *                  other days (only when the counts span two or more days);
 *   interpolation  linear between the nearest healthy intervals (or the one that exists);
 *   none           0, with a note.
 * Occupancy of faulty cells is interpolated from the detector's healthy occupancy
 * (0 when it has none); `substitutions` lists volumes only.
 */
import { IssueList } from '../errors.js';
import type { ApproachId, Network, Turn } from '../network/schema.js';
import type { DetectorCounts } from './csv.js';

/** A stuck-on loop reads (nearly) permanently occupied. */
export const STUCK_ON_OCCUPANCY_PCT = 95;
export const STUCK_ON_MIN_INTERVALS = 3;
/** About 1.33 x a 1800 veh/h saturation flow: more than a lane can physically discharge. */
export const CHATTER_VEH_PER_H_PER_LANE = 2400;
/** One zero interval is plausible on a quiet lane; a run while neighbours flow is not. */
export const ZERO_MIN_INTERVALS = 2;
/** 20 veh per 15 min: neighbours carrying this much make a true zero implausible. */
export const ZERO_NEIGHBOUR_MIN_VEH_PER_H = 80;
/** Healthy intervals shared with a neighbour before its ratio is trusted. */
export const MIN_RATIO_INTERVALS = 2;

const MS_PER_DAY = 86_400_000;

export type FaultKind = 'zero' | 'stuckOn' | 'chatter' | 'missing';
export const FAULT_KINDS: readonly FaultKind[] = ['zero', 'stuckOn', 'chatter', 'missing'];
export type SubstitutionMethod = 'neighbours' | 'profile' | 'interpolation' | 'none';

export interface DetectorInfo {
  readonly id: string;
  readonly kind: 'stopLine' | 'advance';
  readonly intersectionIndex: number;
  readonly approachId: ApproachId;
  readonly laneId: string;
  readonly movements: readonly Turn[];
  readonly widthM: number;
  /** Topology indices of same-kind detectors on other lanes of the same approach; lanes sharing a movement first. */
  readonly neighbours: readonly number[];
  /** How many leading entries of `neighbours` share a movement with this lane. */
  readonly sharingNeighbours: number;
}

export interface DetectorTopology {
  /** Network detector order; pass to `parseCountsCsv` as `detectorIds`. */
  readonly detectorIds: readonly string[];
  readonly detectors: readonly DetectorInfo[];
}

export interface Substitution {
  detectorId: string;
  intervalStartMs: number;
  fault: FaultKind;
  /** Raw volume, NaN when missing. */
  observed: number;
  substituted: number;
  method: SubstitutionMethod;
  note?: string;
}

export interface FaultReport {
  cleaned: DetectorCounts;
  substitutions: Substitution[];
  /** Detectors with at least one fault; `faults` counts intervals per kind (all four keys present). */
  faultyDetectors: { detectorId: string; faults: Record<string, number> }[];
}

/** Fault codes in the dense mask; 0 = healthy. */
const CODE: Record<FaultKind, number> = { missing: 1, stuckOn: 2, chatter: 3, zero: 4 };
const KIND_OF_CODE: readonly (FaultKind | undefined)[] = [undefined, 'missing', 'stuckOn', 'chatter', 'zero'];

// ---------------------------------------------------------------------------
// Topology

export function detectorTopology(network: Network): DetectorTopology {
  const issues = new IssueList();
  const partial: Omit<DetectorInfo, 'neighbours' | 'sharingNeighbours'>[] = [];
  const seen = new Map<string, string>();
  network.intersections.forEach((ix, intersectionIndex) => {
    ix.detectors.forEach((det, j) => {
      const path = `intersections[${intersectionIndex}].detectors[${j}]`;
      const prev = seen.get(det.id);
      if (prev) issues.add(`${path}.id`, `detector id "${det.id}" is also used by ${prev}; counts files need unique ids`);
      seen.set(det.id, path);
      const approach = ix.approaches.find((a) => a.lanes.some((l) => l.id === det.lane));
      const lane = approach?.lanes.find((l) => l.id === det.lane);
      if (!approach || !lane) {
        issues.add(`${path}.lane`, `lane "${det.lane}" is not a lane of intersection "${ix.id}"`);
        return;
      }
      partial.push({ id: det.id, kind: det.kind, intersectionIndex, approachId: approach.id, laneId: lane.id, movements: lane.movements, widthM: lane.widthM });
    });
  });
  issues.throwIfAny('detectors do not match the network');
  const detectors = partial.map((d) => withNeighbours(d, partial));
  return { detectorIds: detectors.map((d) => d.id), detectors };
}

function withNeighbours(d: Omit<DetectorInfo, 'neighbours' | 'sharingNeighbours'>, all: readonly Omit<DetectorInfo, 'neighbours' | 'sharingNeighbours'>[]): DetectorInfo {
  const sharing: number[] = [];
  const others: number[] = [];
  all.forEach((o, i) => {
    if (o.intersectionIndex !== d.intersectionIndex || o.approachId !== d.approachId || o.kind !== d.kind || o.laneId === d.laneId) return;
    (o.movements.some((m) => d.movements.includes(m)) ? sharing : others).push(i);
  });
  return { ...d, neighbours: [...sharing, ...others], sharingNeighbours: sharing.length };
}

// ---------------------------------------------------------------------------
// Detection

/** Neighbour groups per counts detector, as counts indices: [sharing movement, other]. */
function neighbourGroups(counts: DetectorCounts, topology: DetectorTopology): number[][][] {
  const countsIndex = new Map(counts.detectorIds.map((id, i) => [id, i]));
  const topoById = new Map(topology.detectors.map((d) => [d.id, d]));
  return counts.detectorIds.map((id) => {
    const info = topoById.get(id);
    if (!info) return [[], []];
    const toCounts = (ns: readonly number[]) =>
      ns.map((n) => countsIndex.get(topology.detectors[n]!.id)).filter((n): n is number => n !== undefined);
    return [toCounts(info.neighbours.slice(0, info.sharingNeighbours)), toCounts(info.neighbours.slice(info.sharingNeighbours))];
  });
}

/** Marks runs of `candidate` cells of length >= minRun with `code`, per detector. */
function markRuns(mask: Int8Array, nI: number, nD: number, minRun: number, code: number, candidate: (cell: number) => boolean): void {
  for (let d = 0; d < nD; d++) {
    let runStart = 0;
    for (let t = 0; t <= nI; t++) {
      if (t < nI && candidate(t * nD + d)) continue;
      if (t - runStart >= minRun) for (let u = runStart; u < t; u++) mask[u * nD + d] = code;
      runStart = t + 1;
    }
  }
}

/** Dense fault mask, [interval * nDet + det]; see CODE. */
function detectFaults(counts: DetectorCounts, groups: readonly (readonly (readonly number[])[])[]): Int8Array {
  const nD = counts.detectorIds.length;
  const nI = counts.intervalStartMs.length;
  const { volumeVeh: vol, occupancyPct: occ } = counts;
  const mask = new Int8Array(nI * nD);
  const scale = counts.intervalS / 3600;
  const chatterVeh = CHATTER_VEH_PER_H_PER_LANE * scale;
  for (let c = 0; c < mask.length; c++) {
    if (Number.isNaN(vol[c]!)) mask[c] = CODE.missing;
    else if (vol[c]! > chatterVeh) mask[c] = CODE.chatter;
  }
  markRuns(mask, nI, nD, STUCK_ON_MIN_INTERVALS, CODE.stuckOn, (c) => mask[c] !== CODE.missing && occ[c]! >= STUCK_ON_OCCUPANCY_PCT);
  const zeroNeighbourVeh = ZERO_NEIGHBOUR_MIN_VEH_PER_H * scale;
  const healthyBeforeZero = mask.slice();
  markRuns(mask, nI, nD, ZERO_MIN_INTERVALS, CODE.zero, (c) => {
    if (healthyBeforeZero[c] !== 0 || vol[c] !== 0) return false;
    const t = Math.floor(c / nD);
    const d = c - t * nD;
    const mean = meanOfHealthy(groups[d]!.flat(), t, nD, vol, healthyBeforeZero);
    return mean !== undefined && mean >= zeroNeighbourVeh;
  });
  return mask;
}

function meanOfHealthy(dets: readonly number[], t: number, nD: number, vol: Float64Array, mask: Int8Array): number | undefined {
  let sum = 0;
  let n = 0;
  for (const d of dets) {
    const c = t * nD + d;
    if (mask[c] === 0) {
      sum += vol[c]!;
      n++;
    }
  }
  return n > 0 ? sum / n : undefined;
}

// ---------------------------------------------------------------------------
// Estimation

interface Estimate {
  value: number;
  method: SubstitutionMethod;
  note?: string;
}

/** Everything the estimators share, computed once per cleanCounts call. */
class Estimator {
  private readonly nD: number;
  private readonly nI: number;
  private readonly dayOf: Float64Array;
  private readonly ratioCache = new Map<string, number | null>();
  private readonly intervalsByTimeOfDay = new Map<number, number[]>();
  private readonly multiDay: boolean;

  constructor(
    private readonly counts: DetectorCounts,
    private readonly mask: Int8Array,
    private readonly groups: readonly (readonly (readonly number[])[])[],
  ) {
    this.nD = counts.detectorIds.length;
    this.nI = counts.intervalStartMs.length;
    this.dayOf = counts.intervalStartMs.map((ms) => Math.floor(ms / MS_PER_DAY));
    for (let t = 0; t < this.nI; t++) {
      const tod = counts.intervalStartMs[t]! - this.dayOf[t]! * MS_PER_DAY;
      const list = this.intervalsByTimeOfDay.get(tod);
      if (list) list.push(t);
      else this.intervalsByTimeOfDay.set(tod, [t]);
    }
    this.multiDay = this.nI > 0 && this.dayOf[this.nI - 1] !== this.dayOf[0];
  }

  estimate(t: number, d: number): Estimate {
    const fromNeighbours = this.neighbours(t, d);
    if (fromNeighbours !== undefined) return { value: fromNeighbours, method: 'neighbours' };
    const fromProfile = this.multiDay ? this.profile(t, d) : undefined;
    if (fromProfile !== undefined) return { value: fromProfile, method: 'profile' };
    const interpolated = interpolate(this.counts.volumeVeh, this.mask, t, d, this.nI, this.nD);
    if (interpolated !== undefined) return { value: interpolated, method: 'interpolation' };
    return { value: 0, method: 'none', note: 'no healthy neighbours, same-time values or own healthy intervals; assumed 0' };
  }

  private healthy(t: number, d: number): boolean {
    return this.mask[t * this.nD + d] === 0;
  }

  /** Mean of ratio-scaled healthy neighbours, trying movement-sharing lanes first. */
  private neighbours(t: number, d: number): number | undefined {
    for (const group of this.groups[d]!) {
      let sum = 0;
      let n = 0;
      for (const o of group) {
        if (!this.healthy(t, o)) continue;
        const ratio = this.ratio(d, o, this.dayOf[t]!);
        if (ratio === null) continue;
        sum += ratio * this.counts.volumeVeh[t * this.nD + o]!;
        n++;
      }
      if (n > 0) return sum / n;
    }
    return undefined;
  }

  /** This detector's volume over the neighbour's, from intervals of `day` where both are healthy. */
  private ratio(d: number, o: number, day: number): number | null {
    const key = `${d},${o},${day}`;
    const cached = this.ratioCache.get(key);
    if (cached !== undefined) return cached;
    let own = 0;
    let other = 0;
    let n = 0;
    for (let t = 0; t < this.nI; t++) {
      if (this.dayOf[t] !== day || !this.healthy(t, d) || !this.healthy(t, o)) continue;
      own += this.counts.volumeVeh[t * this.nD + d]!;
      other += this.counts.volumeVeh[t * this.nD + o]!;
      n++;
    }
    const ratio = n >= MIN_RATIO_INTERVALS && other > 0 ? own / other : null;
    this.ratioCache.set(key, ratio);
    return ratio;
  }

  /** Mean of this detector's healthy volumes at the same time of day on other days. */
  private profile(t: number, d: number): number | undefined {
    const tod = this.counts.intervalStartMs[t]! - this.dayOf[t]! * MS_PER_DAY;
    let sum = 0;
    let n = 0;
    for (const u of this.intervalsByTimeOfDay.get(tod) ?? []) {
      if (u === t || !this.healthy(u, d)) continue;
      sum += this.counts.volumeVeh[u * this.nD + d]!;
      n++;
    }
    return n > 0 ? sum / n : undefined;
  }
}

/** Linear between the nearest cells where mask is 0; the single side if only one exists. */
function interpolate(values: Float64Array, mask: Int8Array, t: number, d: number, nI: number, nD: number): number | undefined {
  let p = t - 1;
  while (p >= 0 && mask[p * nD + d] !== 0) p--;
  let q = t + 1;
  while (q < nI && mask[q * nD + d] !== 0) q++;
  const before = p >= 0 ? values[p * nD + d]! : undefined;
  const after = q < nI ? values[q * nD + d]! : undefined;
  if (before !== undefined && after !== undefined) return before + ((after - before) * (t - p)) / (q - p);
  return before ?? after;
}

/** Occupancy is only trusted where the volume is healthy and occupancy present. */
function cleanOccupancy(counts: DetectorCounts, mask: Int8Array): Float64Array {
  const nD = counts.detectorIds.length;
  const nI = counts.intervalStartMs.length;
  const occMask = mask.map((m, c) => (m === 0 && !Number.isNaN(counts.occupancyPct[c]!) ? 0 : 1));
  const out = counts.occupancyPct.slice();
  for (let c = 0; c < out.length; c++) {
    if (occMask[c] === 0) continue;
    const t = Math.floor(c / nD);
    out[c] = interpolate(counts.occupancyPct, occMask, t, c - t * nD, nI, nD) ?? 0;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Entry point

export function cleanCounts(counts: DetectorCounts, topology: DetectorTopology): FaultReport {
  const nD = counts.detectorIds.length;
  const groups = neighbourGroups(counts, topology);
  const mask = detectFaults(counts, groups);
  const estimator = new Estimator(counts, mask, groups);
  const volumeVeh = counts.volumeVeh.slice();
  const substitutions: Substitution[] = [];
  const faultCounts = counts.detectorIds.map(() => Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>);
  for (let c = 0; c < mask.length; c++) {
    const fault = KIND_OF_CODE[mask[c]!];
    if (!fault) continue;
    const t = Math.floor(c / nD);
    const d = c - t * nD;
    const est = estimator.estimate(t, d);
    volumeVeh[c] = est.value;
    faultCounts[d]![fault]++;
    const sub: Substitution = { detectorId: counts.detectorIds[d]!, intervalStartMs: counts.intervalStartMs[t]!, fault, observed: counts.volumeVeh[c]!, substituted: est.value, method: est.method };
    if (est.note) sub.note = est.note;
    substitutions.push(sub);
  }
  const cleaned: DetectorCounts = { ...counts, volumeVeh, occupancyPct: cleanOccupancy(counts, mask) };
  const faultyDetectors = counts.detectorIds
    .map((detectorId, d) => ({ detectorId, faults: faultCounts[d]! as Record<string, number> }))
    .filter((f) => FAULT_KINDS.some((k) => f.faults[k]! > 0));
  return { cleaned, substitutions, faultyDetectors };
}
