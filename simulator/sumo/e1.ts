/**
 * SUMO induction loops (E1) ↔ greenwave detector counts.
 *
 * `e1Additional` writes an additional file with one stop-line loop per
 * incoming lane of every imported signal (`e1_<laneId>`, 5 m before the stop
 * line), matching the detectors `importSumoNet` declares. `readE1Output`
 * reads what SUMO writes for those loops (`<interval begin end id
 * nVehContrib occupancy …/>`) as `DetectorCounts`:
 * - volume = nVehContrib (vehicles whose front passed the loop), occupancy in percent as SUMO writes it;
 * - SUMO seconds become wall times on a fixed day: interval start =
 *   2026-01-01T00:00 + begin seconds (SUMO_EPOCH_MS), so `--at HH:MM` means
 *   HH:MM after simulation time 0;
 * - the interval length is the most common end − begin; shorter intervals
 *   (the partial one SUMO writes when the run ends mid-period) are dropped;
 * - with `detectorIds`, rows for other ids are ignored and detectors with no
 *   row stay missing (NaN) for the fault cleaner to fill;
 * - with `loops` (from `--detectors`, see detectorDefs.ts), a row's id is a
 *   loop id and counts for its lane's detector; where several loops on a lane
 *   have a value, the one nearest the stop line wins, and ids that are no
 *   defined loop go to `unmatched` when given.
 */
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import type { DetectorCounts } from '../../engine/counts/csv.js';
import type { SumoMapping } from './importNet.js';
import type { LoopTarget } from './detectorDefs.js';
import { DETECTOR_SETBACK_M } from './importNet.js';
import { attr, children, escapeXml, fmtS, numAttr, parseSumoXml } from './xml.js';

/** Simulation time 0 as wall time: 2026-01-01T00:00 (epoch-ms of that wall time read as UTC, as counts CSVs are). */
export const SUMO_EPOCH_MS = Date.UTC(2026, 0, 1, 0, 0, 0);

export function e1DetectorId(laneId: string): string {
  return `e1_${laneId}`;
}

export function readE1Output(xmlText: string, detectorIds?: readonly string[], loops?: ReadonlyMap<string, LoopTarget>, unmatched?: Set<string>): DetectorCounts {
  const doc = parseSumoXml(xmlText, 'SUMO E1 output', ['interval']);
  const root = doc['detector'];
  const rows = children(root, 'interval');
  if (root === undefined || rows.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO E1 output: no <interval> rows under a <detector> root; is this induction-loop output?');
  const parsed: { begin: number; end: number; id: string; volume: number; occupancy: number }[] = [];
  for (const r of rows) {
    const begin = numAttr(r, 'begin');
    const end = numAttr(r, 'end');
    const id = attr(r, 'id');
    if (begin === undefined || end === undefined || id === undefined || !(end > begin)) continue;
    parsed.push({ begin, end, id, volume: numAttr(r, 'nVehContrib') ?? Number.NaN, occupancy: numAttr(r, 'occupancy') ?? Number.NaN });
  }
  if (parsed.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO E1 output: no interval with begin, end and id');
  // The interval length: the most common duration (whole seconds).
  const durations = new Map<number, number>();
  for (const p of parsed) {
    const d = Math.round(p.end - p.begin);
    durations.set(d, (durations.get(d) ?? 0) + 1);
  }
  const intervalS = [...durations.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]![0];
  if (!(intervalS > 0)) throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO E1 output: intervals shorter than one second');
  const full = parsed.filter((p) => Math.round(p.end - p.begin) === intervalS);
  const targetOf = (loopId: string): LoopTarget => loops?.get(loopId) ?? { detectorId: loopId, rank: 0, distanceToStopLineM: 0 };
  const ids = detectorIds ? [...detectorIds] : [...new Set(full.map((p) => targetOf(p.id).detectorId))].sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const starts = [...new Set(full.map((p) => Math.round(p.begin)))].sort((a, b) => a - b);
  // Keep the grid dense: intervals with no rows at all are missing.
  const first = starts[0]!;
  const last = starts[starts.length - 1]!;
  const nI = Math.floor((last - first) / intervalS) + 1;
  const nD = ids.length;
  const volumeVeh = new Float64Array(nI * nD).fill(Number.NaN);
  const occupancyPct = new Float64Array(nI * nD).fill(Number.NaN);
  const rankOf = new Int32Array(nI * nD).fill(0x7fffffff);
  for (const p of full) {
    if (loops !== undefined && !loops.has(p.id)) {
      unmatched?.add(p.id);
      continue;
    }
    const target = targetOf(p.id);
    const d = index.get(target.detectorId);
    if (d === undefined) continue;
    const t = Math.round((Math.round(p.begin) - first) / intervalS);
    if (t < 0 || t >= nI) continue;
    const k = t * nD + d;
    // The nearest loop to the stop line with a value wins (several loops per lane).
    if (Number.isNaN(p.volume) || target.rank >= rankOf[k]!) continue;
    rankOf[k] = target.rank;
    volumeVeh[k] = p.volume;
    occupancyPct[k] = p.occupancy;
  }
  const intervalStartMs = new Float64Array(nI);
  for (let t = 0; t < nI; t++) intervalStartMs[t] = SUMO_EPOCH_MS + (first + t * intervalS) * 1000;
  return { detectorIds: ids, intervalS, intervalStartMs, volumeVeh, occupancyPct };
}

export interface E1Options {
  /** Aggregation period, s. Default 900 (15 min). */
  readonly periodS?: number;
  /** Output file SUMO writes, relative to the additional file. Default "e1.xml". */
  readonly file?: string;
}

/** An `<additional>` with a stop-line induction loop on every incoming lane of every imported signal. */
export function e1Additional(source: SumoMapping | readonly { readonly laneId: string; readonly lengthM: number }[], opts: E1Options = {}): string {
  // The lanes greenwave does not model but whose links follow its stages get loops too (after the
  // others): their counts are demand those stages serve (simulator/sumo/plan.ts).
  const lanes = 'intersections' in source ? [...source.intersections.flatMap((ix) => ix.lanes), ...source.intersections.flatMap((ix) => ix.unmodelledLanes ?? [])] : source;
  const period = opts.periodS ?? 900;
  if (!(period > 0)) throw new GreenwaveError(ErrorCode.InvalidInput, `E1 period must be positive, got ${period}`);
  const file = escapeXml(opts.file ?? 'e1.xml');
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<!-- generated by greenwave: stop-line induction loops for every signal approach lane -->', '<additional>'];
  const seen = new Set<string>();
  for (const { laneId, lengthM } of lanes) {
    if (seen.has(laneId)) continue;
    seen.add(laneId);
    const pos = Math.max(0, lengthM - DETECTOR_SETBACK_M);
    lines.push(`    <inductionLoop id="${escapeXml(e1DetectorId(laneId))}" lane="${escapeXml(laneId)}" pos="${fmtS(pos)}" period="${fmtS(period)}" file="${file}"/>`);
  }
  lines.push('</additional>', '');
  return lines.join('\n');
}
