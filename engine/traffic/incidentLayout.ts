/**
 * Where incident detection can look: the loop "stations" of a network. A
 * station is one loop compared with its sibling loops: the loops of the same
 * kind (stop-line or advance) in the other lanes of the same approach that
 * share at least one movement with it. A lane alone for its movements (a
 * left-turn bay, a single-lane approach) has no sibling and is not monitored,
 * unless asked for (`solo`): it is then a "solo" station whose references are
 * the same-kind loops of the other lanes of its approach (other movements, so
 * another phase's green: only the missed-volume run judges it, against its
 * lane ratio to them). A single-lane approach has no reference either way.
 * Built once from a compiled network by the incident detector's callers (the
 * benchmark, the tests, later the TrafficStateService); the detector
 * (incidentDetector.ts) only reads these typed arrays.
 *
 * A station's link is the approach its lane belongs to, named
 * `<intersection id>-<approach id>` (e.g. `I3-EB`): the road section feeding
 * that approach, whose network link id (`L-I2-I3`) is given too when the
 * network has one.
 */
import { DetectorKind, type CompiledNetwork } from '../network/compile.js';
import { APPROACH_IDS } from '../network/schema.js';
import { travelDirection } from '../network/geometry.js';

export interface IncidentLayout {
  /** Stations, in detector order. */
  readonly stationCount: number;
  /** Detector index (`CompiledNetwork.detectorIds`) of each station. */
  readonly stationDetector: Int32Array;
  /** Link (approach) index of each station, into `linkIds`. */
  readonly stationLink: Int32Array;
  /** Siblings of station s: detector indices `siblings[siblingStart[s] .. siblingStart[s + 1])`. */
  readonly siblingStart: Int32Array;
  readonly siblings: Int32Array;
  /** 1 for a stop-line loop, 0 for an advance loop. */
  readonly stationStopLine: Uint8Array;
  readonly linkIds: readonly string[];
  /** The network link feeding each approach, '' for an approach entering from outside. */
  readonly networkLinkIds: readonly string[];
  readonly detectorIds: readonly string[];
  /** The compiled lane of each station's loop. */
  readonly stationLane: Int32Array;
  /** 1 for a solo station (no sibling; its "siblings" are the approach's other same-kind loops). */
  readonly stationSolo: Uint8Array;
}

/** The approach (0..3, APPROACH_IDS order) a compiled lane belongs to: the first movement nibble it serves. */
function laneApproach(c: CompiledNetwork, lane: number): number {
  const mask = c.laneMovementMask[lane]!;
  let a = 0;
  while (a < 4 && ((mask >> (a * 4)) & 0xf) === 0) a++;
  return a;
}

export function incidentLayout(c: CompiledNetwork, opts: { readonly solo?: boolean } = {}): IncidentLayout {
  const laneIntersection = new Int32Array(c.laneIds.length);
  for (let i = 0; i < c.intersectionCount; i++) for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) laneIntersection[l] = i;
  const net = c.network;
  const linkKey = (d: number) => {
    const lane = c.detectorLane[d]!;
    return `${c.intersectionIds[laneIntersection[lane]!]}-${APPROACH_IDS[laneApproach(c, lane)]}`;
  };
  const stationDetector: number[] = [];
  const stationLink: number[] = [];
  const siblingStart: number[] = [0];
  const siblings: number[] = [];
  const solo: number[] = [];
  const linkIndex = new Map<string, number>();
  const nd = c.detectorIds.length;
  for (let d = 0; d < nd; d++) {
    const lane = c.detectorLane[d]!;
    const key = linkKey(d);
    const sib: number[] = [];
    for (let e = 0; e < nd; e++) {
      if (e === d || c.detectorKind[e] !== c.detectorKind[d]) continue;
      const other = c.detectorLane[e]!;
      if (other === lane || linkKey(e) !== key) continue;
      if ((c.laneMovementMask[other]! & c.laneMovementMask[lane]!) !== 0) sib.push(e);
    }
    let isSolo = 0;
    if (sib.length === 0 && opts.solo === true) {
      for (let e = 0; e < nd; e++) if (e !== d && c.detectorKind[e] === c.detectorKind[d] && c.detectorLane[e] !== lane && linkKey(e) === key) sib.push(e);
      isSolo = 1;
    }
    if (sib.length === 0) continue;
    solo.push(isSolo);
    let link = linkIndex.get(key);
    if (link === undefined) {
      link = linkIndex.size;
      linkIndex.set(key, link);
    }
    stationDetector.push(d);
    stationLink.push(link);
    siblings.push(...sib);
    siblingStart.push(siblings.length);
  }
  const linkIds = [...linkIndex.keys()];
  const networkLinkIds = linkIds.map((key) => {
    const cut = key.lastIndexOf('-');
    const to = key.slice(0, cut);
    const dir = key.slice(cut + 1);
    const at = net.intersections.find((ix) => ix.id === to)!.position;
    const found = net.links.find((l) => {
      const from = net.intersections.find((ix) => ix.id === l.from);
      return l.to === to && from !== undefined && travelDirection(from.position, at) === dir;
    });
    return found?.id ?? '';
  });
  const stationDetectorArr = Int32Array.from(stationDetector);
  return {
    stationCount: stationDetector.length,
    stationDetector: stationDetectorArr,
    stationLink: Int32Array.from(stationLink),
    siblingStart: Int32Array.from(siblingStart),
    siblings: Int32Array.from(siblings),
    stationStopLine: Uint8Array.from(stationDetector, (d) => (c.detectorKind[d] === DetectorKind.StopLine ? 1 : 0)),
    linkIds,
    networkLinkIds,
    detectorIds: c.detectorIds,
    stationLane: Int32Array.from(stationDetectorArr, (d) => c.detectorLane[d]!),
    stationSolo: Uint8Array.from(solo),
  };
}
