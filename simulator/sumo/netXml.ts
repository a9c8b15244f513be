/**
 * Reads a SUMO network file (`.net.xml`) into the pieces the importer
 * (importNet.ts) maps to a greenwave network: normal edges and their lanes,
 * connections by incoming edge, the first program of each traffic light, the
 * traffic-light junctions and every junction's position. No greenwave
 * concepts here: SUMO's own ids and units.
 */
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import { attr, children, numAttr, parseSumoXml, type XmlNode } from './xml.js';

/** SUMO's default lane width, m. */
const SUMO_LANE_WIDTH_M = 3.2;

export interface SumoLane {
  id: string;
  index: number;
  speedMps: number;
  lengthM: number;
  widthM: number;
  shape: [number, number][];
}
export interface SumoEdge {
  id: string;
  from: string;
  to: string;
  lanes: SumoLane[];
}
export interface SumoConn {
  from: string;
  to: string;
  fromLane: number;
  dir: string;
  tl?: string;
  linkIndex?: number;
}

/** What the importer needs of a SUMO net, by SUMO id. */
export interface SumoNet {
  readonly edges: Map<string, SumoEdge>;
  readonly connsByFrom: Map<string, SumoConn[]>;
  /** The first `<tlLogic>` of each traffic light. */
  readonly programs: Map<string, XmlNode>;
  /** Junctions of type traffic_light*, in file order (at least one). */
  readonly junctions: XmlNode[];
  readonly junctionPos: Map<string, { x: number; y: number }>;
  readonly incomingEdges: Map<string, SumoEdge[]>;
  /** Pedestrian crossings in the net. */
  readonly crossings: number;
}

export function readSumoNet(xmlText: string): SumoNet {
  const doc = parseSumoXml(xmlText, 'SUMO network', ['junction', 'edge', 'lane', 'connection', 'tlLogic', 'phase', 'param', 'request', 'roundabout']);
  const root = doc['net'];
  if (root === undefined || root === null || typeof root !== 'object') throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO network: no <net> root element; is this a .net.xml file?');

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

  return { edges, connsByFrom, programs, junctions, junctionPos, incomingEdges, crossings };
}

/** Points of a SUMO shape attribute ("x,y x,y …"); malformed points are skipped. */
export function parseShape(s: string | undefined): [number, number][] {
  if (!s) return [];
  const out: [number, number][] = [];
  for (const pt of s.trim().split(/\s+/)) {
    const [x, y] = pt.split(',').map(Number);
    if (Number.isFinite(x) && Number.isFinite(y)) out.push([x!, y!]);
  }
  return out;
}
