/**
 * Imports a SUMO network (`.net.xml`) as a greenwave network: every
 * traffic-light junction becomes an intersection, its incoming edges become
 * approaches, its connections become lane movements, and the first program of
 * its `<tlLogic>` becomes the stage list. The returned `mapping` keeps what
 * is needed to go back (tls ids, SUMO link indices per movement) for
 * `exportTls.ts`, and every decision the importer had to make in `notes`.
 *
 * Conventions (see docs/sumo.md):
 * - Position: pseudo lon/lat from SUMO x/y, lon = 120 + x/96000, lat = 30 + y/111000
 *   (about 1 m per metre in both axes at 30°N, so direction-from-geometry works).
 * - Approach id: the direction of travel of the last segment of the incoming
 *   edge's rightmost lane: mostly east → EB, west → WB, north → NB, south → SB.
 *   A second edge with the same direction at a junction is skipped (noted).
 * - Turns: SUMO `dir` s → T, l/L → L, r/R → R, t → U; other dirs are ignored. An approach
 *   with no `s` and partial turns (L or R) to one side only takes them as its through movement
 *   (the continuation of a road bending through a T or Y junction).
 * - Stages: every phase of the first program that shows green (`G`/`g`) and no
 *   yellow/red-yellow (`y`/`Y`/`u`) is a stage, in order. A movement is
 *   protected when any of its links shows `G`, else permitted when any shows
 *   `g`. A permitted through is made protected (greenwave has no permitted
 *   throughs). Consecutive identical stages are merged.
 * - SUMO's program is the authority: when greenwave's geometric conflict rules
 *   reject a SUMO stage, turning movements are downgraded to permitted, and if
 *   that is not enough the pair is added to `conflicts.remove`.
 *
 * This module maps junctions, approaches and lanes and returns the result; the
 * XML is read by netXml.ts, programs become stages in netProgram.ts, and links
 * and corridors between the signals are found by netLinks.ts.
 */
import { GreenwaveError, ErrorCode, ValidationError } from '../../engine/errors.js';
import { validateNetwork } from '../../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../../engine/network/compile.js';
import type { ApproachId, Turn } from '../../engine/network/schema.js';
import { clamp, round1, roundTo } from '../../engine/numeric.js';
import { attr, children, numAttr } from './xml.js';
import { assignApproaches } from './approaches.js';
import { parseShape, readSumoNet } from './netXml.js';
import { repairIntersection, stagesFromProgram } from './netProgram.js';
import { findCorridors, linksBetweenSignals } from './netLinks.js';

export interface SumoLinkInfo {
  readonly linkIndex: number;
  readonly from: string;
  readonly to: string;
  readonly fromLane: number;
  readonly dir: string;
  /** Greenwave movement id (e.g. "EBT"), undefined when the link is not imported (skipped approach, unknown dir). */
  readonly movement?: string;
  /**
   * For a link that is not imported: the stages (greenwave phase ids) during which SUMO's own
   * program greens it. The exported program shows it 'g' (yield) in those stages and 'y' in their
   * yellow, so a fifth approach is served as SUMO served it instead of standing at red for ever.
   */
  readonly follows?: readonly string[];
}

export interface SumoIntersectionMapping {
  readonly intersectionId: string;
  readonly junctionId: string;
  readonly tlsId: string;
  /** programID of the SUMO program the stages were read from. */
  readonly programId: string;
  /** Length of the tls state string (number of link indices). */
  readonly linkCount: number;
  readonly approaches: readonly { readonly approach: ApproachId; readonly edgeId: string }[];
  /** Greenwave movement id -> SUMO link indices. */
  readonly movements: Readonly<Record<string, readonly number[]>>;
  /** Per SUMO link index (dense, 0..linkCount-1; null for an index no connection uses). */
  readonly links: readonly (SumoLinkInfo | null)[];
  /** Incoming lanes with stop-line detectors, with their lengths (for the E1 additional). */
  readonly lanes: readonly { readonly laneId: string; readonly lengthM: number }[];
  /**
   * Incoming lanes greenwave does not model (a fifth approach, a leg of unknown turns) whose links
   * follow greenwave's stages (`SumoLinkInfo.follows`): the stages their links are green in. Their
   * loops' counts are the demand those stages must also serve (simulator/sumo/plan.ts).
   */
  readonly unmodelledLanes?: readonly { readonly laneId: string; readonly lengthM: number; readonly stages: readonly string[] }[];
}

export interface SumoMapping {
  readonly intersections: readonly SumoIntersectionMapping[];
  readonly tlsToIntersection: Readonly<Record<string, string>>;
  readonly intersectionToTls: Readonly<Record<string, string>>;
  /** Everything the importer skipped, changed or guessed, for the user to read. */
  readonly notes: readonly string[];
}

export interface ImportOptions {
  /** Network name; default "SUMO import". */
  readonly name?: string;
  /** Width of the conflict area when the junction has no shape, m. Default 20. */
  readonly defaultWidthM?: number;
  /** Outbound weight of detected corridors. Default 0.5. */
  readonly outboundWeight?: number;
  /**
   * Shortest cycle the planner may run, s. Default: 20 s when the net has no pedestrian
   * crossings (nothing physical then asks for more; SUMO's Webster tool, tlsCycleAdaptation.py,
   * allows 20 s too), else greenwave's own default of 40 s.
   */
  readonly minCycleS?: number;
  /**
   * Time step the exported programs run on, s: SUMO's step length. Default 1 (SUMO's default).
   * Clearances and minimum greens are rounded up to it (`defaults.timingStepS`), so the
   * exported program, whose switch times sit on that grid, never shortens them.
   */
  readonly timingStepS?: number;
}

export interface ImportResult {
  /** Greenwave network JSON (input form) that passes `validateNetwork`. */
  readonly network: NetworkJson;
  readonly mapping: SumoMapping;
}

// Plain JSON shapes of what we emit (input form of the schema).
export interface StageJson {
  id: string;
  protected: string[];
  permitted: string[];
  minGreenS: number;
  maxGreenS: number;
}
export interface IntersectionJson {
  id: string;
  name: string;
  position: { lon: number; lat: number };
  widthM: number;
  maxCycleS?: number;
  approaches: { id: ApproachId; speedKph: number; lanes: { id: string; movements: Turn[]; widthM: number }[] }[];
  detectors: { id: string; lane: string; kind: 'stopLine'; distanceM: number }[];
  phasing: { type: 'stages'; stages: StageJson[] };
  conflicts: { add: [string, string][]; remove: [string, string][] };
}
export interface NetworkJson {
  formatVersion: 1;
  name: string;
  intersections: IntersectionJson[];
  links: { id: string; from: string; to: string; lengthM: number; designSpeedKph: number }[];
  corridors: { id: string; name: string; intersections: string[]; outboundWeight: number }[];
  defaults?: { minCycleS?: number; timingStepS?: number };
}

/**
 * The imported network, validated and compiled. The importer promises a network that
 * validates, so a failure here is greenwave's bug (Internal), not the user's input.
 */
export function compileImport(imported: ImportResult): CompiledNetwork {
  const result = validateNetwork(imported.network);
  if (!result.ok) throw new GreenwaveError(ErrorCode.Internal, 'imported network does not validate', result.issues);
  return compileNetwork(result.network);
}

/** Minimum cycle for a net without pedestrian crossings, s: tlsCycleAdaptation.py's default. */
const SHORTEST_CYCLE_WITHOUT_CROSSINGS_S = 20;

const DIR_TURN: Record<string, Turn> = { s: 'T', l: 'L', L: 'L', r: 'R', R: 'R', t: 'U' };

/**
 * The turn of each connection of one approach, by SUMO's `dir`. SUMO calls a path straight (`s`)
 * only when it nearly is; where a road bends through a T or Y junction it calls the continuation
 * a partial left or right (`L`, `R`) beside a full turn to the same side. When an approach has no
 * `s` and partial turns to one side only, that partial turn is its through movement: otherwise it
 * would share a movement with the full turn to the same side (`r` and `R` both right), two paths
 * to different exits that SUMO's programs signal apart (the replayed program greened both exits
 * whenever either was green).
 */
function approachTurns(conns: readonly { readonly dir: string }[]): (c: { readonly dir: string }) => Turn | undefined {
  const dirs = new Set(conns.map((c) => c.dir));
  const through = dirs.has('s') ? undefined : dirs.has('L') && !dirs.has('R') ? 'L' : dirs.has('R') && !dirs.has('L') ? 'R' : undefined;
  return (c) => (c.dir === through ? 'T' : DIR_TURN[c.dir]);
}

export const DETECTOR_SETBACK_M = 5;

export function pseudoLonLat(x: number, y: number): { lon: number; lat: number } {
  return { lon: roundTo(120 + x / 96_000, 7), lat: roundTo(30 + y / 111_000, 7) };
}

export function importSumoNet(xmlText: string, opts: ImportOptions = {}): ImportResult {
  const { edges, connsByFrom, programs, junctions, junctionPos, incomingEdges, crossings } = readSumoNet(xmlText);
  const notes: string[] = [];

  const intersections: IntersectionJson[] = [];
  const maps: SumoIntersectionMapping[] = [];
  const tlsUsed = new Map<string, string>();
  const defaultWidth = opts.defaultWidthM ?? 20;
  // Approaches whose through movement is a road bending through the junction (approachTurns): not corridors.
  const bending = new Set<string>();

  for (const j of junctions) {
    const jid = attr(j, 'id');
    if (!jid) continue;
    const incoming = incomingEdges.get(jid) ?? [];
    const tlsIds = new Set<string>();
    for (const e of incoming) for (const c of connsByFrom.get(e.id) ?? []) if (c.tl !== undefined && c.linkIndex !== undefined) tlsIds.add(c.tl);
    if (tlsIds.size !== 1) {
      notes.push(`junction ${jid}: skipped, its incoming connections belong to ${tlsIds.size === 0 ? 'no traffic light' : `${tlsIds.size} traffic lights (${[...tlsIds].join(', ')})`}`);
      continue;
    }
    const tlsId = [...tlsIds][0]!;
    if (tlsUsed.has(tlsId)) {
      notes.push(`junction ${jid}: skipped, traffic light ${tlsId} also controls junction ${tlsUsed.get(tlsId)} (joined signals are not supported)`);
      continue;
    }
    const program = programs.get(tlsId);
    if (!program) {
      notes.push(`junction ${jid}: skipped, no <tlLogic id="${tlsId}"> in the network`);
      continue;
    }
    const phases = children(program, 'phase');
    const linkCount = Math.max(0, ...phases.map((p) => (attr(p, 'state') ?? '').length));

    // Approaches and lanes.
    const approaches: IntersectionJson['approaches'] = [];
    const apEdges: { approach: ApproachId; edgeId: string }[] = [];
    const movementLinks = new Map<string, number[]>();
    const links: (SumoLinkInfo | null)[] = new Array(linkCount).fill(null);
    const laneList: { laneId: string; lengthM: number }[] = [];
    const unmodelledEdges: typeof incoming = [];
    const signalled = incoming.filter((e) => (connsByFrom.get(e.id) ?? []).some((c) => c.tl === tlsId && c.linkIndex !== undefined));
    const approachOf = assignApproaches(signalled, junctionPos);
    for (const e of incoming) {
      const conns = (connsByFrom.get(e.id) ?? []).filter((c) => c.tl === tlsId && c.linkIndex !== undefined);
      const direction = approachOf.get(e.id);
      const turnOf = approachTurns(conns);
      const recordLinks = (approach: ApproachId | undefined): void => {
        for (const c of conns) {
          const turn = turnOf(c);
          const movement = approach !== undefined && turn !== undefined ? `${approach}${turn}` : undefined;
          const info: SumoLinkInfo = { linkIndex: c.linkIndex!, from: c.from, to: c.to, fromLane: c.fromLane, dir: c.dir, ...(movement ? { movement } : {}) };
          if (c.linkIndex! >= 0 && c.linkIndex! < linkCount) links[c.linkIndex!] = info;
        }
      };
      if (conns.length === 0) continue;
      if (direction === undefined) {
        notes.push(`junction ${jid}: incoming edge ${e.id} is a fifth approach; not modelled (its ${conns.length} links follow the stages in which SUMO greens them, yielding; in a phase of their own only, they stay red)`);
        recordLinks(undefined);
        unmodelledEdges.push(e);
        continue;
      }
      const lanes: IntersectionJson['approaches'][number]['lanes'] = [];
      let speed = 0;
      for (const lane of e.lanes) {
        const turns: Turn[] = [];
        for (const c of conns) {
          if (c.fromLane !== lane.index) continue;
          const turn = turnOf(c);
          if (turn === undefined) continue;
          if (!turns.includes(turn)) turns.push(turn);
        }
        if (turns.length === 0) continue;
        turns.sort((a, b) => 'LTRU'.indexOf(a) - 'LTRU'.indexOf(b));
        lanes.push({ id: `${e.id}_${lane.index}`, movements: turns, widthM: clamp(lane.widthM, 2.4, 5.5) });
        laneList.push({ laneId: `${e.id}_${lane.index}`, lengthM: lane.lengthM });
        speed = Math.max(speed, lane.speedMps);
      }
      if (lanes.length === 0) {
        notes.push(`junction ${jid}: incoming edge ${e.id} has no lane with a known turn; skipped`);
        recordLinks(undefined);
        unmodelledEdges.push(e);
        continue;
      }
      approaches.push({ id: direction, speedKph: round1(clamp(speed * 3.6, 10, 120)), lanes });
      if (conns.some((c) => turnOf(c) === 'T' && c.dir !== 's')) bending.add(`${jid}:${direction}`);
      apEdges.push({ approach: direction, edgeId: e.id });
      recordLinks(direction);
      for (const c of conns) {
        const turn = turnOf(c);
        if (turn === undefined) continue;
        const m = `${direction}${turn}`;
        const list = movementLinks.get(m) ?? [];
        list.push(c.linkIndex!);
        movementLinks.set(m, list);
      }
    }
    if (approaches.length < 2) {
      notes.push(`junction ${jid}: skipped, only ${approaches.length} usable approach${approaches.length === 1 ? '' : 'es'}`);
      continue;
    }

    // Stages from the program.
    const { stages, stageOfPhase } = stagesFromProgram(jid, phases, movementLinks, notes);
    // Links greenwave does not import follow the stages in which SUMO's program greens them.
    for (let l = 0; l < links.length; l++) {
      const info = links[l];
      if (!info || info.movement !== undefined) continue;
      const follows = new Set<string>();
      phases.forEach((ph, k) => {
        const id = stageOfPhase.get(k);
        if (id !== undefined && /[Gg]/.test((attr(ph, 'state') ?? '')[l] ?? '')) follows.add(id);
      });
      if (follows.size > 0) links[l] = { ...info, follows: [...follows] };
    }
    // A link greenwave does not model that SUMO greens only in stages of its own (a six-leg junction's
    // third pair of legs, a fifth leg with a phase to itself) would stand at red for ever in our
    // program. Greenwave cannot plan that junction; leave it to SUMO's own program.
    const orphaned = links.filter((info, l): info is SumoLinkInfo => !!info && info.movement === undefined && !info.follows && phases.some((ph) => /[Gg]/.test((attr(ph, 'state') ?? '')[l] ?? '')));
    if (orphaned.length > 0) {
      const edges = [...new Set(orphaned.map((x) => x.from))];
      notes.push(`junction ${jid}: skipped (SUMO's program kept), incoming edge${edges.length === 1 ? '' : 's'} ${edges.join(', ')} ${edges.length === 1 ? 'is' : 'are'} green only in stages of ${edges.length === 1 ? 'its' : 'their'} own, and greenwave models four approaches`);
      continue;
    }
    if (stages.length < 2) {
      notes.push(`junction ${jid}: skipped, program "${attr(program, 'programID') ?? ''}" has ${stages.length} green stage${stages.length === 1 ? '' : 's'} (greenwave needs at least two)`);
      continue;
    }
    // Movements with a lane that no stage greens: drop them from the lanes.
    const greened = new Set(stages.flatMap((s) => [...s.protected, ...s.permitted]));
    for (const ap of approaches) {
      for (const lane of ap.lanes) {
        const kept = lane.movements.filter((t) => greened.has(`${ap.id}${t}`));
        if (kept.length !== lane.movements.length) {
          notes.push(`junction ${jid}: lane ${lane.id}: ${lane.movements.filter((t) => !kept.includes(t)).map((t) => `${ap.id}${t}`).join(', ')} never green in the SUMO program; dropped`);
          lane.movements = kept;
        }
      }
      ap.lanes = ap.lanes.filter((l) => l.movements.length > 0);
    }
    const liveApproaches = approaches.filter((a) => a.lanes.length > 0);
    const liveLanes = new Set(liveApproaches.flatMap((a) => a.lanes.map((l) => l.id)));
    if (liveApproaches.length < 2) {
      notes.push(`junction ${jid}: skipped, fewer than two approaches are ever green`);
      continue;
    }

    const ix: IntersectionJson = {
      id: jid,
      name: `SUMO ${jid}`,
      position: pseudoLonLat(numAttr(j, 'x') ?? 0, numAttr(j, 'y') ?? 0),
      widthM: junctionWidth(attr(j, 'shape'), defaultWidth),
      approaches: liveApproaches,
      detectors: [...liveLanes].map((lane) => ({ id: `e1_${lane}`, lane, kind: 'stopLine' as const, distanceM: DETECTOR_SETBACK_M })),
      phasing: { type: 'stages', stages },
      conflicts: { add: [], remove: [] },
    };
    const problems = repairIntersection(ix, notes);
    if (problems.length > 0) {
      notes.push(`junction ${jid}: skipped, still invalid after repairs: ${problems.join('; ')}`);
      continue;
    }
    tlsUsed.set(tlsId, jid);
    intersections.push(ix);
    const movements: Record<string, number[]> = {};
    for (const [m, l] of movementLinks) if (liveApproaches.some((a) => m.startsWith(a.id))) movements[m] = [...l].sort((a, b) => a - b);
    maps.push({
      intersectionId: jid,
      junctionId: jid,
      tlsId,
      programId: attr(program, 'programID') ?? '0',
      linkCount,
      approaches: apEdges.filter((a) => liveApproaches.some((x) => x.id === a.approach)),
      movements,
      links,
      lanes: laneList.filter((l) => liveLanes.has(l.laneId)),
      unmodelledLanes: unmodelledLanes(unmodelledEdges, links),
    });
  }
  if (intersections.length === 0) {
    throw new GreenwaveError(ErrorCode.InvalidInput, `SUMO network: none of the ${junctions.length} traffic-light junctions could be imported\n${notes.map((n) => `  ${n}`).join('\n')}`);
  }

  // Without crosswalks no pedestrian needs a long cycle: allow what SUMO's own Webster tool allows.
  const minCycleS = opts.minCycleS ?? (crossings === 0 ? SHORTEST_CYCLE_WITHOUT_CROSSINGS_S : undefined);
  if (opts.minCycleS === undefined && minCycleS !== undefined) notes.push(`no pedestrian crossings in the net: minimum cycle ${minCycleS} s (as SUMO's tlsCycleAdaptation.py; --min-cycle to change)`);

  const netLinks = linksBetweenSignals(edges, intersections);

  const network: NetworkJson = {
    formatVersion: 1,
    name: opts.name ?? 'SUMO import',
    intersections,
    links: netLinks,
    corridors: findCorridors(intersections, netLinks, opts.outboundWeight ?? 0.5, bending),
    defaults: { ...(minCycleS !== undefined ? { minCycleS } : {}), timingStepS: opts.timingStepS ?? 1 },
  };
  let result = validateNetwork(network);
  if (!result.ok && network.corridors.length > 0) {
    notes.push(`corridors dropped, the network did not validate with them: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    network.corridors = [];
    result = validateNetwork(network);
  }
  if (!result.ok) throw new ValidationError('SUMO import produced an invalid network (a bug in the importer)', result.issues);
  for (const c of network.corridors) notes.push(`corridor ${c.id}: ${c.intersections.join(' → ')}`);

  const tlsToIntersection: Record<string, string> = {};
  const intersectionToTls: Record<string, string> = {};
  for (const m of maps) {
    tlsToIntersection[m.tlsId] = m.intersectionId;
    intersectionToTls[m.intersectionId] = m.tlsId;
  }
  return { network, mapping: { intersections: maps, tlsToIntersection, intersectionToTls, notes } };
}

/** The lanes of the edges greenwave does not model whose links follow its stages, with those stages. */
function unmodelledLanes(edges: readonly { id: string; lanes: readonly { index: number; lengthM: number }[] }[], links: readonly (SumoLinkInfo | null)[]): { laneId: string; lengthM: number; stages: string[] }[] {
  const out: { laneId: string; lengthM: number; stages: string[] }[] = [];
  for (const e of edges) {
    for (const lane of e.lanes) {
      const stages = new Set<string>();
      for (const info of links) if (info && info.movement === undefined && info.from === e.id && info.fromLane === lane.index) for (const id of info.follows ?? []) stages.add(id);
      if (stages.size > 0) out.push({ laneId: `${e.id}_${lane.index}`, lengthM: lane.lengthM, stages: [...stages].sort() });
    }
  }
  return out;
}

function junctionWidth(shape: string | undefined, fallback: number): number {
  const pts = parseShape(shape);
  if (pts.length < 3) return fallback;
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const w = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  return round1(clamp(w, 5, 120));
}

