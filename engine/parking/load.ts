/**
 * Reads a parking file (./schema.ts) and checks it against the compiled
 * network it refers to: every entrance's and sign's `linkId` is a link of the
 * network and its `positionM` lies on it, ids are unique (car parks,
 * entrances, signs, sign unit ids per address), every sign line names known
 * car parks, a sign with an endpoint has a unit id, every gate loop is a
 * detector of the network and counts for one car park only.
 * Every problem is collected with its field path
 * (`carParks[3].entrances[0].linkId: no link "L-X"`) and thrown together as an
 * INVALID_INPUT, which the CLI turns into exit 2 as it does for network files.
 * The result is compiled to dense arrays for the recommender (./recommend.ts),
 * the gRPC service (service/parkingService.ts), the sign pusher
 * (service/signPusher.ts) and the gate counts (service/parkingGates.ts).
 */
import type { z } from 'zod';
import { ErrorCode, GreenwaveError, IssueList, type Issue, formatIssues } from '../errors.js';
import { readText } from '../files.js';
import type { CompiledNetwork } from '../network/compile.js';
import { formatPath } from '../network/validate.js';
import { ParkingFileSchema, SPACE_TYPES, capacityOf, type ParkingFile, type SpaceType } from './schema.js';
import { compileOpeningHours, isOpenAt as hoursOpenAt, type CompiledHours } from './occupancyHours.js';

export const SPACE_TYPE_COUNT = SPACE_TYPES.length;

/** A parking file in dense form: car park k, entrance e, sign s, sign line l are indices. */
export interface CompiledParking {
  readonly file: ParkingFile;
  readonly carParkCount: number;
  readonly carParkIds: readonly string[];
  /** Total spaces per car park (the sum over its types). */
  readonly capacity: Int32Array;
  /** Spaces per car park and type: [k * SPACE_TYPE_COUNT + SPACE_TYPES.indexOf(type)]. */
  readonly capacityByType: Int32Array;
  readonly lon: Float64Array;
  readonly lat: Float64Array;
  /** Entrances of car park k: [entranceStart[k], entranceStart[k+1]). */
  readonly entranceStart: Uint32Array;
  readonly entranceIds: readonly string[];
  /** Index of the entrance's link in `network.links`. */
  readonly entranceLink: Int32Array;
  /** Distance of the entrance from its link's start, m. */
  readonly entrancePositionM: Float64Array;
  /** Fees in the car park's own currency (file `fees.currency`, CNY by default). */
  readonly firstHourPrice: Float64Array;
  readonly perHourPrice: Float64Array;
  /** Cap per calendar day; Infinity where there is none. */
  readonly dailyMaxPrice: Float64Array;
  /** Height limit at the entrance, m; Infinity where there is none. */
  readonly heightLimitM: Float64Array;
  /** Opening hours of each car park, compiled once (./occupancyHours.ts: the one reading of the rules). */
  readonly hours: readonly CompiledHours[];
  /** Local time zone of the opening hours, minutes east of UTC. */
  readonly utcOffsetMin: number;
  readonly signCount: number;
  readonly signIds: readonly string[];
  readonly signLink: Int32Array;
  readonly signPositionM: Float64Array;
  /** Modbus unit id of the sign controller, 0 where the file gives none. */
  readonly signUnitId: Uint8Array;
  /** Gate loops (file order over the car parks): the network detector index, its car park, +1 entries / −1 exits. */
  readonly gateDetector: Int32Array;
  readonly gateCarPark: Int32Array;
  readonly gateSign: Int8Array;
  /** Lines of sign s: [signLineStart[s], signLineStart[s+1]); car parks of line l: [lineCarParkStart[l], lineCarParkStart[l+1]) into lineCarParks. */
  readonly signLineStart: Uint32Array;
  readonly lineCarParkStart: Uint32Array;
  readonly lineCarParks: Int32Array;
  /** Car park index by id; undefined for an unknown id. */
  carPark(id: string): number | undefined;
}

/** Parses, checks against `c` and compiles parking JSON text; `source` names it in messages. */
export function compileParkingText(text: string, c: CompiledNetwork, source: string): CompiledParking {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e: unknown) {
    throw invalid(source, [{ path: source, message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return compileParking(raw, c, source);
}

/** Reads, checks and compiles the parking file at `path` for the network `c`. */
export function loadCompiledParking(path: string, c: CompiledNetwork): CompiledParking {
  return compileParkingText(readText(path, 'parking file'), c, path);
}

/** Checks an already-parsed value against the schema and the network; throws INVALID_INPUT with every issue. */
export function compileParking(raw: unknown, c: CompiledNetwork, source = 'parking file'): CompiledParking {
  const parsed = ParkingFileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(source, parsed.error.issues.map(zodIssue));
  const issues = new IssueList();
  const file = parsed.data;
  const linkIndex = new Map(c.network.links.map((l, i) => [l.id, i]));
  if (file.network !== '' && c.network.name !== '' && file.network !== c.network.name) issues.add('network', `refers to network "${file.network}", but the network file given is "${c.network.name}"`);
  const onLink = (path: string, linkId: string, positionM: number): number => {
    const li = linkIndex.get(linkId);
    if (li === undefined) {
      issues.add(`${path}.linkId`, `no link "${linkId}"`);
      return -1;
    }
    const len = c.network.links[li]!.lengthM;
    if (positionM > len) issues.add(`${path}.positionM`, `${positionM} m is beyond the end of link "${linkId}" (${len} m long)`);
    return li;
  };
  const unique = new Map<string, string>();
  const once = (kind: string, id: string, path: string): void => {
    const key = `${kind}\u0000${id}`;
    const first = unique.get(key);
    if (first !== undefined) issues.add(path, `duplicate ${kind} id "${id}" (first used at ${first})`);
    else unique.set(key, path);
  };

  const n = file.carParks.length;
  const capacity = new Int32Array(n);
  const capacityByType = new Int32Array(n * SPACE_TYPE_COUNT);
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  const entranceStart = new Uint32Array(n + 1);
  const entranceIds: string[] = [];
  const entranceLink: number[] = [];
  const entrancePos: number[] = [];
  const firstHourPrice = new Float64Array(n);
  const perHourPrice = new Float64Array(n);
  const dailyMaxPrice = new Float64Array(n);
  const heightLimitM = new Float64Array(n);
  const detectorIndex = new Map(c.detectorIds.map((d, i) => [d, i]));
  const gateDetector: number[] = [];
  const gateCarPark: number[] = [];
  const gateSign: number[] = [];
  const gateOf = new Map<string, string>();
  file.carParks.forEach((p, k) => {
    const at = `carParks[${k}]`;
    once('car park', p.id, `${at}.id`);
    capacity[k] = capacityOf(p);
    if (capacity[k] === 0) issues.add(`${at}.capacityByType`, 'a car park needs at least one space');
    SPACE_TYPES.forEach((t, j) => {
      capacityByType[k * SPACE_TYPE_COUNT + j] = p.capacityByType[t] ?? 0;
    });
    lon[k] = p.position.lon;
    lat[k] = p.position.lat;
    entranceStart[k] = entranceIds.length;
    p.entrances.forEach((e, j) => {
      once('entrance', e.id, `${at}.entrances[${j}].id`);
      entranceIds.push(e.id);
      entranceLink.push(onLink(`${at}.entrances[${j}]`, e.linkId, e.positionM));
      entrancePos.push(e.positionM);
    });
    firstHourPrice[k] = p.fees.firstHour;
    perHourPrice[k] = p.fees.perHour;
    dailyMaxPrice[k] = p.fees.dailyMax ?? Number.POSITIVE_INFINITY;
    if (p.fees.dailyMax !== undefined && p.fees.dailyMax < p.fees.firstHour) issues.add(`${at}.fees.dailyMax`, `${p.fees.dailyMax} is less than the first hour's ${p.fees.firstHour}`);
    heightLimitM[k] = p.heightLimitM ?? Number.POSITIVE_INFINITY;
    p.gates.forEach((g, j) => {
      const path = `${at}.gates[${j}].detectorId`;
      const d = detectorIndex.get(g.detectorId);
      if (d === undefined) issues.add(path, `no detector "${g.detectorId}" in the network file`);
      const first = gateOf.get(g.detectorId);
      if (first !== undefined) issues.add(path, `detector "${g.detectorId}" is also ${first}: one loop counts for one car park, one way`);
      else gateOf.set(g.detectorId, path.slice(0, -'.detectorId'.length));
      gateDetector.push(d ?? -1);
      gateCarPark.push(k);
      gateSign.push(g.counts === 'entries' ? 1 : -1);
    });
    if (p.openingHours !== '24/7') {
      p.openingHours.forEach((h, j) => {
        const open = minutesOfDay(h.open);
        const close = minutesOfDay(h.close);
        if (open === close || (open === 1440 && close === 0)) issues.add(`${at}.openingHours[${j}].close`, `closes when it opens (${h.open}): give a different time, or "24/7"`);
        if (open === 1440) issues.add(`${at}.openingHours[${j}].open`, '24:00 is allowed as a closing time only');
      });
    }
  });
  entranceStart[n] = entranceIds.length;
  const byId = new Map<string, number>();
  file.carParks.forEach((p, k) => {
    if (!byId.has(p.id)) byId.set(p.id, k);
  });

  const m = file.signs.length;
  const signLink = new Int32Array(m);
  const signPositionM = new Float64Array(m);
  const signUnitId = new Uint8Array(m);
  const signLineStart = new Uint32Array(m + 1);
  const lineCarParkStart: number[] = [];
  const lineCarParks: number[] = [];
  // Unit ids are unique per address (signs without an endpoint share one: the file does not say where they are).
  const units = new Map<string, string>();
  file.signs.forEach((s, k) => {
    const at = `signs[${k}]`;
    once('sign', s.id, `${at}.id`);
    signLink[k] = onLink(at, s.linkId, s.positionM);
    signPositionM[k] = s.positionM;
    if (s.endpoint !== undefined && s.unitId === undefined) issues.add(`${at}.unitId`, 'is required with an endpoint (the sign controller\'s Modbus unit id)');
    if (s.unitId !== undefined) {
      const key = `${s.endpoint ? `${s.endpoint.host}:${s.endpoint.port}` : ''}#${s.unitId}`;
      const first = units.get(key);
      if (first !== undefined) issues.add(`${at}.unitId`, `unit id ${s.unitId} is also ${first}'s${s.endpoint ? ` at ${s.endpoint.host}:${s.endpoint.port}` : ''}: each sign controller needs its own`);
      else units.set(key, at);
      signUnitId[k] = s.unitId;
    }
    signLineStart[k] = lineCarParkStart.length;
    s.lines.forEach((line, j) => {
      lineCarParkStart.push(lineCarParks.length);
      line.carParkIds.forEach((id, q) => {
        const cp = byId.get(id);
        if (cp === undefined) issues.add(`${at}.lines[${j}].carParkIds[${q}]`, `no car park "${id}"`);
        lineCarParks.push(cp ?? -1);
      });
    });
  });
  signLineStart[m] = lineCarParkStart.length;
  lineCarParkStart.push(lineCarParks.length);
  if (issues.length > 0) throw invalid(source, issues.items);

  return {
    file,
    carParkCount: n,
    carParkIds: file.carParks.map((p) => p.id),
    capacity,
    capacityByType,
    lon,
    lat,
    entranceStart,
    entranceIds,
    entranceLink: Int32Array.from(entranceLink),
    entrancePositionM: Float64Array.from(entrancePos),
    firstHourPrice,
    perHourPrice,
    dailyMaxPrice,
    heightLimitM,
    hours: file.carParks.map((p) => compileOpeningHours(p.openingHours)),
    utcOffsetMin: file.utcOffsetMin,
    signCount: m,
    signIds: file.signs.map((s) => s.id),
    signLink,
    signPositionM,
    signUnitId,
    gateDetector: Int32Array.from(gateDetector),
    gateCarPark: Int32Array.from(gateCarPark),
    gateSign: Int8Array.from(gateSign),
    signLineStart,
    lineCarParkStart: Uint32Array.from(lineCarParkStart),
    lineCarParks: Int32Array.from(lineCarParks),
    carPark: (id) => byId.get(id),
  };
}

/** Is car park k open at `ms` (ms since 1970) by its opening hours? */
export function isOpenAt(p: CompiledParking, k: number, ms: number): boolean {
  return hoursOpenAt(p.hours[k]!, ms, p.utcOffsetMin);
}

/**
 * Price of a stay of `stayS` seconds at car park k: the first hour (or part of it), then each
 * further hour or part, each started 24 h capped at the daily maximum.
 */
export function priceOfStay(p: CompiledParking, k: number, stayS: number): number {
  if (!(stayS > 0)) return 0;
  const cap = p.dailyMaxPrice[k]!;
  const hourly = (hours: number): number => (hours <= 0 ? 0 : p.firstHourPrice[k]! + p.perHourPrice[k]! * (hours - 1));
  const hours = Math.ceil(stayS / 3600 - 1e-9);
  const days = Math.floor(hours / 24);
  const rest = hours - days * 24;
  return days * Math.min(cap, hourly(24)) + Math.min(cap, hourly(rest));
}

/** The index of a space type in capacityByType rows. */
export function spaceTypeIndex(t: SpaceType): number {
  return SPACE_TYPES.indexOf(t);
}

function minutesOfDay(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function invalid(source: string, issues: readonly Issue[]): GreenwaveError {
  return new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${formatIssues(issues)}`, issues);
}

function zodIssue(issue: z.core.$ZodIssue): Issue {
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return { path: formatPath(issue.path), message };
}
