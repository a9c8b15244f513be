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
 * - Turns: SUMO `dir` s → T, l/L → L, r/R → R, t → U; other dirs are ignored.
 * - Stages: every phase of the first program that shows green (`G`/`g`) and no
 *   yellow/red-yellow (`y`/`Y`/`u`) is a stage, in order. A movement is
 *   protected when any of its links shows `G`, else permitted when any shows
 *   `g`. A permitted through is made protected (greenwave has no permitted
 *   throughs). Consecutive identical stages are merged.
 * - SUMO's program is the authority: when greenwave's geometric conflict rules
 *   reject a SUMO stage, turning movements are downgraded to permitted, and if
 *   that is not enough the pair is added to `conflicts.remove`.
 */
import { SAFETY_FLOORS } from '../../engine/safety/floors.js';
import { GreenwaveError, ErrorCode, ValidationError } from '../../engine/errors.js';
import { validateNetwork } from '../../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../../engine/network/compile.js';
import { buildConflictTable, compatible, parseMovementId } from '../../engine/network/geometry.js';
import { travelDirection } from '../../engine/network/geometry.js';
import type { ApproachId, Turn } from '../../engine/network/schema.js';
import { attr, children, numAttr, parseSumoXml, type XmlNode } from './xml.js';
import { assignApproaches } from './approaches.js';
import { round1 } from '../../engine/numeric.js';

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
interface StageJson {
  id: string;
  protected: string[];
  permitted: string[];
  minGreenS: number;
  maxGreenS: number;
}
interface IntersectionJson {
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
const OPPOSITE: Record<ApproachId, ApproachId> = { EB: 'WB', WB: 'EB', NB: 'SB', SB: 'NB' };
/** SUMO's default lane width, m. */
const SUMO_LANE_WIDTH_M = 3.2;
export const DETECTOR_SETBACK_M = 5;

interface SumoLane {
  id: string;
  index: number;
  speedMps: number;
  lengthM: number;
  widthM: number;
  shape: [number, number][];
}
interface SumoEdge {
  id: string;
  from: string;
  to: string;
  lanes: SumoLane[];
}
interface SumoConn {
  from: string;
  to: string;
  fromLane: number;
  dir: string;
  tl?: string;
  linkIndex?: number;
}

/** Nodes a link may pass through between two signals (turn-bay starts, geometry nodes). */
const MAX_PASS_THROUGH_NODES = 8;

export function pseudoLonLat(x: number, y: number): { lon: number; lat: number } {
  return { lon: round7(120 + x / 96_000), lat: round7(30 + y / 111_000) };
}


function parseShape(s: string | undefined): [number, number][] {
  if (!s) return [];
  const out: [number, number][] = [];
  for (const pt of s.trim().split(/\s+/)) {
    const [x, y] = pt.split(',').map(Number);
    if (Number.isFinite(x) && Number.isFinite(y)) out.push([x!, y!]);
  }
  return out;
}

export function importSumoNet(xmlText: string, opts: ImportOptions = {}): ImportResult {
  const doc = parseSumoXml(xmlText, 'SUMO network', ['junction', 'edge', 'lane', 'connection', 'tlLogic', 'phase', 'param', 'request', 'roundabout']);
  const root = doc['net'];
  if (root === undefined || root === null || typeof root !== 'object') throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO network: no <net> root element; is this a .net.xml file?');
  const notes: string[] = [];

  const edges = new Map<string, SumoEdge>();
  let crossings = 0;
  for (const e of children(root, 'edge')) {
    const fn = attr(e, 'function');
    if (fn === 'crossing') crossings++;
    if (fn !== undefined && fn !== 'normal') continue;
    const id = attr(e, 'id');
    const from = attr(e, 'from');
    const to = attr(e, 'to');
    if (!id || !from || !to) continue;
    const lanes: SumoLane[] = children(e, 'lane').map((l) => ({
      id: attr(l, 'id') ?? `${id}_${attr(l, 'index') ?? '0'}`,
      index: numAttr(l, 'index') ?? 0,
      speedMps: numAttr(l, 'speed') ?? 13.89,
      lengthM: numAttr(l, 'length') ?? 0,
      widthM: numAttr(l, 'width') ?? SUMO_LANE_WIDTH_M,
      shape: parseShape(attr(l, 'shape')),
    }));
    lanes.sort((a, b) => a.index - b.index);
    edges.set(id, { id, from, to, lanes });
  }
  const connsByFrom = new Map<string, SumoConn[]>();
  for (const c of children(root, 'connection')) {
    const from = attr(c, 'from');
    const to = attr(c, 'to');
    if (!from || !to || !edges.has(from)) continue;
    const conn: SumoConn = { from, to, fromLane: numAttr(c, 'fromLane') ?? 0, dir: attr(c, 'dir') ?? '' };
    const tl = attr(c, 'tl');
    const li = numAttr(c, 'linkIndex');
    if (tl !== undefined) conn.tl = tl;
    if (li !== undefined) conn.linkIndex = li;
    const list = connsByFrom.get(from) ?? [];
    list.push(conn);
    connsByFrom.set(from, list);
  }
  const programs = new Map<string, XmlNode>();
  for (const t of children(root, 'tlLogic')) {
    const id = attr(t, 'id');
    if (id !== undefined && !programs.has(id)) programs.set(id, t);
  }
  const junctions = children(root, 'junction').filter((j) => (attr(j, 'type') ?? '').startsWith('traffic_light'));
  if (junctions.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO network: no junction of type "traffic_light"; nothing to time (build the net with --tls.guess or set junction types)');
  const junctionPos = new Map<string, { x: number; y: number }>();
  for (const j of children(root, 'junction')) {
    const id = attr(j, 'id');
    if (id) junctionPos.set(id, { x: numAttr(j, 'x') ?? 0, y: numAttr(j, 'y') ?? 0 });
  }
  const incomingEdges = new Map<string, SumoEdge[]>();
  for (const e of edges.values()) {
    const list = incomingEdges.get(e.to) ?? [];
    list.push(e);
    incomingEdges.set(e.to, list);
  }

  const intersections: IntersectionJson[] = [];
  const maps: SumoIntersectionMapping[] = [];
  const tlsUsed = new Map<string, string>();
  const defaultWidth = opts.defaultWidthM ?? 20;

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
    const signalled = incoming.filter((e) => (connsByFrom.get(e.id) ?? []).some((c) => c.tl === tlsId && c.linkIndex !== undefined));
    const approachOf = assignApproaches(signalled, junctionPos);
    for (const e of incoming) {
      const conns = (connsByFrom.get(e.id) ?? []).filter((c) => c.tl === tlsId && c.linkIndex !== undefined);
      const direction = approachOf.get(e.id);
      const recordLinks = (approach: ApproachId | undefined): void => {
        for (const c of conns) {
          const turn = DIR_TURN[c.dir];
          const movement = approach !== undefined && turn !== undefined ? `${approach}${turn}` : undefined;
          const info: SumoLinkInfo = { linkIndex: c.linkIndex!, from: c.from, to: c.to, fromLane: c.fromLane, dir: c.dir, ...(movement ? { movement } : {}) };
          if (c.linkIndex! >= 0 && c.linkIndex! < linkCount) links[c.linkIndex!] = info;
        }
      };
      if (conns.length === 0) continue;
      if (direction === undefined) {
        notes.push(`junction ${jid}: incoming edge ${e.id} is a fifth approach; not modelled (its ${conns.length} links follow the stages in which SUMO greens them, yielding; in a phase of their own only, they stay red)`);
        recordLinks(undefined);
        continue;
      }
      const lanes: IntersectionJson['approaches'][number]['lanes'] = [];
      let speed = 0;
      for (const lane of e.lanes) {
        const turns: Turn[] = [];
        for (const c of conns) {
          if (c.fromLane !== lane.index) continue;
          const turn = DIR_TURN[c.dir];
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
        continue;
      }
      approaches.push({ id: direction, speedKph: round1(clamp(speed * 3.6, 10, 120)), lanes });
      apEdges.push({ approach: direction, edgeId: e.id });
      recordLinks(direction);
      for (const c of conns) {
        const turn = DIR_TURN[c.dir];
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
    });
  }
  if (intersections.length === 0) {
    throw new GreenwaveError(ErrorCode.InvalidInput, `SUMO network: none of the ${junctions.length} traffic-light junctions could be imported\n${notes.map((n) => `  ${n}`).join('\n')}`);
  }

  // Without crosswalks no pedestrian needs a long cycle: allow what SUMO's own Webster tool allows.
  const minCycleS = opts.minCycleS ?? (crossings === 0 ? SHORTEST_CYCLE_WITHOUT_CROSSINGS_S : undefined);
  if (opts.minCycleS === undefined && minCycleS !== undefined) notes.push(`no pedestrian crossings in the net: minimum cycle ${minCycleS} s (as SUMO's tlsCycleAdaptation.py; --min-cycle to change)`);

  // Links between imported signals: a direct edge, or a chain of edges through nodes that only
  // pass traffic on (a turn bay's start, where the lane count changes, or a geometry node).
  const ixById = new Map(intersections.map((ix) => [ix.id, ix]));
  const edgesFrom = new Map<string, SumoEdge[]>();
  for (const e of edges.values()) {
    const list = edgesFrom.get(e.from) ?? [];
    list.push(e);
    edgesFrom.set(e.from, list);
  }
  const netLinks: NetworkJson['links'] = [];
  const pairs = new Set<string>();
  for (const first of edges.values()) {
    if (!ixById.has(first.from)) continue;
    let e = first;
    let lengthM = 0;
    let speed = 0;
    for (let hops = 0; ; hops++) {
      lengthM += Math.max(...e.lanes.map((l) => l.lengthM), 1);
      speed = Math.max(speed, ...e.lanes.map((l) => l.speedMps));
      if (ixById.has(e.to) || hops >= MAX_PASS_THROUGH_NODES) break;
      const onward = (edgesFrom.get(e.to) ?? []).filter((x) => x.to !== e.from);
      if (onward.length !== 1) break;
      e = onward[0]!;
    }
    if (!ixById.has(e.to) || e.to === first.from) continue;
    const key = `${first.from}\u0000${e.to}`;
    if (pairs.has(key)) continue;
    pairs.add(key);
    netLinks.push({ id: first.id.length <= 64 ? first.id : `link${netLinks.length + 1}`, from: first.from, to: e.to, lengthM: round1(Math.min(lengthM, 20_000)), designSpeedKph: round1(clamp(speed * 3.6, 10, 120)) });
  }

  const network: NetworkJson = {
    formatVersion: 1,
    name: opts.name ?? 'SUMO import',
    intersections,
    links: netLinks,
    corridors: findCorridors(intersections, netLinks, opts.outboundWeight ?? 0.5),
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

function junctionWidth(shape: string | undefined, fallback: number): number {
  const pts = parseShape(shape);
  if (pts.length < 3) return fallback;
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const w = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  return round1(clamp(w, 5, 120));
}

/** Stages from a SUMO program, and the stage each SUMO green phase became (merged phases included). */
function stagesFromProgram(jid: string, phases: readonly XmlNode[], movementLinks: Map<string, number[]>, notes: string[]): { stages: StageJson[]; stageOfPhase: Map<number, string> } {
  const stages: StageJson[] = [];
  const stageOfPhase = new Map<number, string>();
  phases.forEach((ph, index) => {
    const state = attr(ph, 'state') ?? '';
    if (!/[Gg]/.test(state) || /[yYu]/.test(state)) return;
    const prot: string[] = [];
    const perm: string[] = [];
    for (const [m, links] of movementLinks) {
      const chars = links.map((l) => state[l] ?? 'r');
      if (chars.includes('G')) prot.push(m);
      else if (chars.includes('g')) {
        if (m.endsWith('T')) {
          notes.push(`junction ${jid}: phase ${index}: through ${m} shows only 'g'; imported as protected`);
          prot.push(m);
        } else perm.push(m);
      }
    }
    if (prot.length + perm.length === 0) {
      notes.push(`junction ${jid}: phase ${index} greens no imported movement; ignored`);
      return;
    }
    prot.sort();
    perm.sort();
    const duration = numAttr(ph, 'duration') ?? 30;
    const minDur = numAttr(ph, 'minDur');
    const maxDur = numAttr(ph, 'maxDur');
    // A SUMO minDur below the absolute floor is raised to it (engine/safety/floors.ts), and said so.
    const minGreenS = round1(clamp(minDur ?? 5, SAFETY_FLOORS.minVehicleGreenS, 120));
    if (minDur !== undefined && minDur < SAFETY_FLOORS.minVehicleGreenS) notes.push(`junction ${jid}: phase ${index}: minDur ${minDur} s raised to the ${SAFETY_FLOORS.minVehicleGreenS} s minimum-green floor`);
    const maxGreenS = round1(clamp(Math.max(maxDur ?? Math.max(duration * 2, 60), minGreenS), SAFETY_FLOORS.minVehicleGreenS, 300));
    const stage: StageJson = { id: `P${index}`, protected: prot, permitted: perm, minGreenS, maxGreenS };
    const prev = stages[stages.length - 1];
    if (prev && sameGreens(prev, stage)) {
      notes.push(`junction ${jid}: phase ${index} greens the same movements as ${prev.id}; merged`);
      prev.maxGreenS = Math.min(300, prev.maxGreenS + maxGreenS);
      stageOfPhase.set(index, prev.id);
      return;
    }
    stages.push(stage);
    stageOfPhase.set(index, stage.id);
  });
  if (stages.length > 2 && sameGreens(stages[0]!, stages[stages.length - 1]!)) {
    const last = stages.pop()!;
    notes.push(`junction ${jid}: last stage ${last.id} repeats the first (cycle wrap); merged`);
    for (const [k, id] of stageOfPhase) if (id === last.id) stageOfPhase.set(k, stages[0]!.id);
  }
  return { stages, stageOfPhase };
}

function sameGreens(a: StageJson, b: StageJson): boolean {
  return a.protected.join() === b.protected.join() && a.permitted.join() === b.permitted.join();
}

const CONFLICT_RE = /conflicting movements green together: "(\w+)" and "(\w+)"/;
const STAGE_RE = /stages\[(\d+)\]/;
const CYCLE_RE = /need a ([\d.]+) s cycle/;

/**
 * Makes one intersection valid under greenwave's rules while keeping SUMO's
 * program: downgrade protected turns to permitted, then remove conflicts.
 * Returns the issues it could not repair.
 */
function repairIntersection(ix: IntersectionJson, notes: string[]): string[] {
  for (let iter = 0; iter < 200; iter++) {
    const res = validateNetwork({ formatVersion: 1, intersections: [ix] });
    if (res.ok) return [];
    const issue = res.issues.find((i) => CONFLICT_RE.test(i.message) && STAGE_RE.test(i.path));
    if (issue) {
      const [, a, b] = CONFLICT_RE.exec(issue.message)!;
      const stage = ix.phasing.stages[Number(STAGE_RE.exec(issue.path)![1])]!;
      fixConflict(ix, stage, a!, b!, notes);
      continue;
    }
    const cycle = res.issues.find((i) => i.path.endsWith('maxCycleS') && CYCLE_RE.test(i.message));
    if (cycle && ix.maxCycleS === undefined) {
      const need = Math.min(SAFETY_FLOORS.maxCycleS, Math.ceil(Number(CYCLE_RE.exec(cycle.message)![1])) + 10);
      ix.maxCycleS = need;
      notes.push(`${ix.id}: minimum greens and clearances need a longer cycle than the default maximum; maxCycleS set to ${need}`);
      continue;
    }
    return res.issues.map((i) => `${i.path.replace(/^intersections\[0\]\.?/, '')}: ${i.message}`);
  }
  return ['repair did not converge'];
}

function fixConflict(ix: IntersectionJson, stage: StageJson, a: string, b: string, notes: string[]): void {
  const table = buildConflictTable(ix.conflicts);
  const ra = parseMovementId(a)!;
  const rb = parseMovementId(b)!;
  const isProt = (m: string) => stage.protected.includes(m);
  const ok = (pa: boolean, pb: boolean) => compatible(table, ra.index, pa, rb.index, pb);
  const candidates: [boolean, boolean][] = [];
  const canDowngrade = (m: string) => isProt(m) && !m.endsWith('T');
  if (canDowngrade(b)) candidates.push([!isProt(a), true]);
  if (canDowngrade(a)) candidates.push([true, !isProt(b)]);
  if (canDowngrade(a) && canDowngrade(b)) candidates.push([true, true]);
  for (const [pa, pb] of candidates) {
    if (!ok(pa, pb)) continue;
    for (const [m, permitted] of [[a, pa], [b, pb]] as const) {
      if (permitted && isProt(m)) {
        stage.protected = stage.protected.filter((x) => x !== m);
        stage.permitted = [...stage.permitted, m].sort();
        notes.push(`${ix.id}: stage ${stage.id}: ${m} downgraded from protected to permitted (conflicts with ${m === a ? b : a}, which SUMO greens with it)`);
      }
    }
    return;
  }
  ix.conflicts.remove.push([a, b]);
  notes.push(`${ix.id}: stage ${stage.id}: SUMO greens ${a} and ${b} together; conflict removed (conflicts.remove)`);
}

function findCorridors(intersections: readonly IntersectionJson[], links: NetworkJson['links'], outboundWeight: number): NetworkJson['corridors'] {
  const byId = new Map(intersections.map((ix) => [ix.id, ix]));
  const linkLen = new Map(links.map((l) => [`${l.from}\u0000${l.to}`, l.lengthM]));
  const twoWay = (u: string, v: string) => linkLen.has(`${u}\u0000${v}`) && linkLen.has(`${v}\u0000${u}`);
  const throughProtected = (ix: IntersectionJson, ap: ApproachId) => ix.phasing.stages.some((s) => s.protected.includes(`${ap}T`));
  const qualifies = (ix: IntersectionJson, d: ApproachId) => throughProtected(ix, d) && throughProtected(ix, OPPOSITE[d]);
  const chains: string[][] = [];
  for (const d of ['EB', 'NB'] as const) {
    const next = new Map<string, string>();
    for (const u of intersections) {
      if (!qualifies(u, d)) continue;
      let best: string | undefined;
      let bestLen = Infinity;
      for (const v of intersections) {
        if (v.id === u.id || !qualifies(v, d) || !twoWay(u.id, v.id)) continue;
        if (travelDirection(u.position, v.position) !== d) continue;
        const len = linkLen.get(`${u.id}\u0000${v.id}`)!;
        if (len < bestLen) {
          bestLen = len;
          best = v.id;
        }
      }
      if (best !== undefined) next.set(u.id, best);
    }
    const hasPrev = new Set(next.values());
    for (const u of intersections) {
      if (hasPrev.has(u.id) || !next.has(u.id)) continue;
      const chain = [u.id];
      let cur = u.id;
      while (next.has(cur) && !chain.includes(next.get(cur)!)) {
        cur = next.get(cur)!;
        chain.push(cur);
      }
      if (chain.length >= 3) chains.push(chain);
    }
  }
  // Longest first; an intersection is coordinated by one corridor only.
  chains.sort((a, b) => b.length - a.length || a[0]!.localeCompare(b[0]!));
  const used = new Set<string>();
  const out: NetworkJson['corridors'] = [];
  for (const chain of chains) {
    if (chain.some((id) => used.has(id))) continue;
    chain.forEach((id) => used.add(id));
    const first = byId.get(chain[0]!)!;
    const dir = travelDirection(first.position, byId.get(chain[1]!)!.position);
    const id = `${dir}-${chain[0]}-${chain[chain.length - 1]}`;
    out.push({ id: id.length <= 64 ? id : `corridor${out.length + 1}`, name: `${dir}/${OPPOSITE[dir]} ${chain.join(' – ')}`.slice(0, 200), intersections: chain, outboundWeight });
  }
  return out;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
function round7(x: number): number {
  return Math.round(x * 1e7) / 1e7;
}
