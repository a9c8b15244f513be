/**
 * SUMO E1 detector definitions (an additional file with `<e1Detector>` or
 * `<inductionLoop>` elements) → which network detector each loop counts for.
 *
 * Real loop files use any ids; the lane a loop sits on is only in the file
 * that defines it. A loop counts for the stop-line detector of its lane
 * (`importSumoNet` declares one per signalised approach lane), wherever it
 * is on that lane: several loops per lane are fine, and so are advance loops.
 * They count the same stream of vehicles, so per interval the loop nearest
 * the stop line that has a value is used, then the next nearest (`rank`).
 * Loops on lanes that feed no signal are returned as unmatched, by id.
 * Called by `greenwave sumo plan --detectors` through `planFromLoops`.
 */
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import type { SumoMapping } from './importNet.js';
import { e1DetectorId } from './e1.js';
import { attr, children, numAttr, parseSumoXml } from './xml.js';

export interface LoopDefinition {
  readonly id: string;
  readonly laneId: string;
  /** Position on the lane as written (negative: from the lane's end), m. */
  readonly posM: number;
}

/** Where a loop's counts go: the network detector and the loop's rank among the loops on that lane (0 = nearest the stop line). */
export interface LoopTarget {
  readonly detectorId: string;
  readonly rank: number;
  readonly distanceToStopLineM: number;
}

export interface LoopMatch {
  readonly targets: ReadonlyMap<string, LoopTarget>;
  /** Loops on lanes greenwave does not model whose links follow its stages (`unmodelledLanes`), to `e1_<lane>`. */
  readonly unmodelledTargets: ReadonlyMap<string, LoopTarget>;
  /** Loop ids on lanes with no signal detector, in file order. */
  readonly unmatched: readonly string[];
}

const LOOP_ELEMENTS = ['e1Detector', 'inductionLoop'] as const;

/** Reads the E1 definitions of an additional file; throws a located InvalidInput error for a malformed one. */
export function readLoopDefinitions(xmlText: string, source = 'detector definitions'): LoopDefinition[] {
  const doc = parseSumoXml(xmlText, source, [...LOOP_ELEMENTS]);
  const root = doc['additional'] ?? doc['additionals'];
  if (root === undefined) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: no <additional> root; expected a SUMO additional file defining E1 loops`);
  const out: LoopDefinition[] = [];
  const seen = new Set<string>();
  const problems: { path: string; message: string }[] = [];
  for (const tag of LOOP_ELEMENTS) {
    children(root, tag).forEach((node, k) => {
      const id = attr(node, 'id');
      const laneId = attr(node, 'lane');
      const posM = numAttr(node, 'pos');
      const path = `${source}: <${tag}>[${k}]`;
      if (id === undefined || id === '') problems.push({ path: `${path}.id`, message: 'missing id' });
      else if (laneId === undefined || laneId === '') problems.push({ path: `${path}.lane`, message: `loop "${id}" has no lane (multi-lane E1 definitions with "lanes" are not supported)` });
      else if (posM === undefined) problems.push({ path: `${path}.pos`, message: `loop "${id}" has no numeric pos` });
      else if (seen.has(id)) problems.push({ path: `${path}.id`, message: `loop id "${id}" is defined twice` });
      else {
        seen.add(id);
        out.push({ id, laneId, posM });
      }
    });
  }
  if (problems.length > 0) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${problems.length} bad loop definition(s): ${problems[0]!.path}: ${problems[0]!.message}`, problems);
  if (out.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: no <e1Detector> or <inductionLoop> elements`);
  return out;
}

/** Matches loops to the imported network's stop-line detectors by lane. */
export function matchLoops(defs: readonly LoopDefinition[], mapping: SumoMapping): LoopMatch {
  const laneLengthM = new Map<string, number>();
  const unmodelled = new Set<string>();
  for (const ix of mapping.intersections) for (const l of ix.lanes) laneLengthM.set(l.laneId, l.lengthM);
  for (const ix of mapping.intersections) {
    for (const l of ix.unmodelledLanes ?? []) {
      if (laneLengthM.has(l.laneId)) continue;
      laneLengthM.set(l.laneId, l.lengthM);
      unmodelled.add(l.laneId);
    }
  }
  const byLane = new Map<string, { id: string; distanceM: number }[]>();
  const unmatched: string[] = [];
  for (const d of defs) {
    const lengthM = laneLengthM.get(d.laneId);
    if (lengthM === undefined) {
      unmatched.push(d.id);
      continue;
    }
    // SUMO: a negative pos counts from the lane's end.
    const posM = d.posM < 0 ? lengthM + d.posM : d.posM;
    const list = byLane.get(d.laneId) ?? [];
    list.push({ id: d.id, distanceM: Math.max(0, lengthM - posM) });
    byLane.set(d.laneId, list);
  }
  const targets = new Map<string, LoopTarget>();
  const unmodelledTargets = new Map<string, LoopTarget>();
  for (const [laneId, loops] of byLane) {
    loops.sort((a, b) => a.distanceM - b.distanceM || (a.id < b.id ? -1 : 1));
    const into = unmodelled.has(laneId) ? unmodelledTargets : targets;
    loops.forEach((l, rank) => into.set(l.id, { detectorId: e1DetectorId(laneId), rank, distanceToStopLineM: l.distanceM }));
  }
  return { targets, unmodelledTargets, unmatched };
}
