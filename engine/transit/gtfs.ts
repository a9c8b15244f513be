/**
 * GTFS static import: reads a feed from a directory of CSV files (or from the
 * file texts directly) and returns a typed, validated model. Every problem is
 * collected with its location, `file:line column`, and thrown together as one
 * ValidationError, e.g. `stop_times.txt:12 arrival_time: "25:61:00" is not HH:MM:SS`.
 * Line numbers are physical lines of the file (the header is line 1); a record
 * with a quoted line break is reported at the line it starts on.
 * Times are seconds after midnight of the service day; GTFS times past 24:00 are valid.
 * Only what the transit priority needs is kept: agency, routes, stops, trips,
 * stop_times, shapes, and the service calendar (calendar.txt and
 * calendar_dates.txt) that says on which dates each trip runs. A feed with
 * neither calendar file runs every trip every day.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, GreenwaveError, IssueList } from '../errors.js';

export interface GtfsAgency {
  readonly agencyId: string;
  readonly name: string;
  readonly timezone: string;
}

export interface GtfsRoute {
  readonly routeId: string;
  readonly agencyId: string;
  readonly shortName: string;
  readonly longName: string;
  readonly routeType: number;
}

export interface GtfsStop {
  readonly stopId: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
}

export interface GtfsTrip {
  readonly tripId: string;
  readonly routeId: string;
  readonly serviceId: string;
  readonly headsign: string;
  /** 0 or 1, undefined if not given. */
  readonly directionId: number | undefined;
  readonly shapeId: string | undefined;
}

export interface GtfsStopTime {
  readonly tripId: string;
  readonly stopId: string;
  readonly stopSequence: number;
  /** Seconds after midnight of the service day (may exceed 86 400). Interpolated by distance for untimed stops. */
  readonly arrivalS: number;
  readonly departureS: number;
  /** False when the feed left the times empty and they were interpolated. */
  readonly timed: boolean;
}

export interface GtfsShapePoint {
  readonly lat: number;
  readonly lon: number;
  readonly sequence: number;
}

/** calendar.txt: a service's weekly pattern over a date range (dates as yyyymmdd numbers). */
export interface GtfsCalendar {
  readonly serviceId: string;
  /** Monday … Sunday. */
  readonly days: readonly boolean[];
  readonly startDate: number;
  readonly endDate: number;
}

export interface GtfsFeed {
  readonly agencies: readonly GtfsAgency[];
  readonly routes: ReadonlyMap<string, GtfsRoute>;
  readonly stops: ReadonlyMap<string, GtfsStop>;
  readonly trips: ReadonlyMap<string, GtfsTrip>;
  /** Per trip id, sorted by stop_sequence. Every trip has at least two. */
  readonly stopTimes: ReadonlyMap<string, readonly GtfsStopTime[]>;
  /** Per shape id, sorted by shape_pt_sequence. */
  readonly shapes: ReadonlyMap<string, readonly GtfsShapePoint[]>;
  /** calendar.txt by service id. */
  readonly calendars: ReadonlyMap<string, GtfsCalendar>;
  /** calendar_dates.txt: per service id, date (yyyymmdd) → 1 added, 2 removed. */
  readonly calendarDates: ReadonlyMap<string, ReadonlyMap<number, 1 | 2>>;
  /** False when the feed has neither calendar file: every trip runs every day. */
  readonly hasCalendar: boolean;
}

/** Whether a service runs on a date (yyyymmdd): calendar_dates.txt exceptions first, then calendar.txt. */
export function serviceRuns(feed: GtfsFeed, serviceId: string, yyyymmdd: number): boolean {
  if (!feed.hasCalendar) return true;
  const exception = feed.calendarDates.get(serviceId)?.get(yyyymmdd);
  if (exception !== undefined) return exception === 1;
  const cal = feed.calendars.get(serviceId);
  if (!cal || yyyymmdd < cal.startDate || yyyymmdd > cal.endDate) return false;
  const y = Math.floor(yyyymmdd / 10000);
  const m = Math.floor(yyyymmdd / 100) % 100;
  const d = yyyymmdd % 100;
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday = 0
  return cal.days[weekday]!;
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** A GTFS date "YYYYMMDD" that names a real day, as the number yyyymmdd; undefined otherwise. */
export function parseGtfsDate(s: string): number | undefined {
  if (!/^\d{8}$/.test(s)) return undefined;
  const n = Number(s);
  const y = Math.floor(n / 10000);
  const m = Math.floor(n / 100) % 100;
  const d = n % 100;
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d ? n : undefined;
}

// ---------------------------------------------------------------------------
// CSV

export interface CsvRecord {
  /** Physical line the record starts on (header = 1). */
  readonly line: number;
  readonly fields: readonly string[];
}

export interface CsvTable {
  readonly header: readonly string[];
  readonly records: readonly CsvRecord[];
}

/**
 * RFC 4180 CSV with the usual leniencies: UTF-8 BOM, CRLF/LF/CR line ends,
 * quoted fields with commas, doubled quotes and line breaks, blank lines skipped,
 * header names trimmed. Structural problems are added to `issues` as `file:line`.
 */
export function parseCsv(text: string, file: string, issues: IssueList): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let startLine = 1;
  let i = 0;
  const n = text.length;
  let quotedField = false;
  const endField = () => {
    fields.push(field);
    field = '';
    quotedField = false;
  };
  const endRecord = () => {
    endField();
    // A line with nothing on it is skipped; a line with only commas is a record of empty fields.
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: startLine, fields });
    fields = [];
  };
  while (i < n) {
    const ch = text[i]!;
    if (ch === '"' && field === '' && !quotedField) {
      // quoted field
      quotedField = true;
      const openLine = line;
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        if (c === '\r' || c === '\n') {
          if (c === '\r' && text[i + 1] === '\n') i++;
          line++;
          field += '\n';
          i++;
          continue;
        }
        field += c;
        i++;
      }
      if (!closed) {
        issues.add(`${file}:${openLine}`, 'unterminated quoted field');
        break;
      }
      // After the closing quote only a separator or line end may follow.
      if (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        issues.add(`${file}:${line}`, 'unexpected character after a closing quote');
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') field += text[i++];
      }
      continue;
    }
    if (ch === ',') {
      endField();
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      i++;
      endRecord();
      line++;
      startLine = line;
      continue;
    }
    field += ch;
    i++;
  }
  if (field !== '' || fields.length > 0 || quotedField) endRecord();
  const [head, ...records] = rows;
  if (!head) return { header: [], records: [] };
  return { header: head.fields.map((h) => h.trim()), records };
}

// ---------------------------------------------------------------------------
// Times and values

const TIME_RE = /^(\d{1,3}):([0-5]\d):([0-5]\d)$/;

/** GTFS time `H:MM:SS`/`HH:MM:SS` → seconds after midnight (hours may exceed 24); undefined if malformed. */
export function parseGtfsTime(s: string): number | undefined {
  const m = TIME_RE.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** Seconds after midnight → `HH:MM:SS` (hours may exceed 24). */
export function formatGtfsTime(s: number): string {
  const t = Math.round(s);
  const p = (v: number) => String(v).padStart(2, '0');
  return `${p(Math.floor(t / 3600))}:${p(Math.floor((t % 3600) / 60))}:${p(t % 60)}`;
}

/** Great-circle distance, m. */
export function haversineM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Reads named columns of one table, reporting problems at `file:line column`. */
class Table {
  private readonly index = new Map<string, number>();
  readonly ok: boolean;
  constructor(
    readonly file: string,
    readonly csv: CsvTable,
    readonly issues: IssueList,
    required: readonly string[],
  ) {
    csv.header.forEach((h, k) => {
      if (this.index.has(h)) issues.add(`${file}:1 ${h}`, 'duplicate column');
      else this.index.set(h, k);
    });
    let ok = true;
    for (const r of required) {
      if (!this.index.has(r)) {
        issues.add(`${file}:1 ${r}`, 'required column is missing');
        ok = false;
      }
    }
    this.ok = ok;
  }

  has(column: string): boolean {
    return this.index.has(column);
  }

  /** Records with the right number of fields; the others are reported and skipped. */
  *rows(): Generator<CsvRecord> {
    const width = this.csv.header.length;
    for (const r of this.csv.records) {
      if (r.fields.length !== width) {
        this.issues.add(`${this.file}:${r.line}`, `has ${r.fields.length} fields, the header has ${width}`);
        continue;
      }
      yield r;
    }
  }

  raw(r: CsvRecord, column: string): string {
    const k = this.index.get(column);
    return k === undefined ? '' : r.fields[k]!.trim();
  }

  at(r: CsvRecord, column: string): string {
    return `${this.file}:${r.line} ${column}`;
  }

  required(r: CsvRecord, column: string): string | undefined {
    const v = this.raw(r, column);
    if (v === '') {
      this.issues.add(this.at(r, column), 'is required');
      return undefined;
    }
    return v;
  }

  number(r: CsvRecord, column: string, min: number, max: number, opts: { required: boolean; integer?: boolean }): number | undefined {
    const v = this.raw(r, column);
    if (v === '') {
      if (opts.required) this.issues.add(this.at(r, column), 'is required');
      return undefined;
    }
    const x = Number(v);
    if (!Number.isFinite(x) || (opts.integer && !Number.isInteger(x))) {
      this.issues.add(this.at(r, column), `"${v}" is not ${opts.integer ? 'an integer' : 'a number'}`);
      return undefined;
    }
    if (x < min || x > max) {
      this.issues.add(this.at(r, column), `${v} is outside ${min}..${max}`);
      return undefined;
    }
    return x;
  }

  time(r: CsvRecord, column: string): number | undefined {
    const v = this.raw(r, column);
    if (v === '') return undefined;
    const t = parseGtfsTime(v);
    if (t === undefined) this.issues.add(this.at(r, column), `"${v}" is not HH:MM:SS`);
    return t;
  }
}

// ---------------------------------------------------------------------------
// Feed

export const REQUIRED_FILES = ['routes.txt', 'stops.txt', 'trips.txt', 'stop_times.txt'] as const;
export const OPTIONAL_FILES = ['agency.txt', 'shapes.txt', 'calendar.txt', 'calendar_dates.txt'] as const;

/** Builds a feed from file texts keyed by file name (`routes.txt`, …). Throws ValidationError with every problem. */
export function parseGtfs(files: Readonly<Record<string, string | undefined>>, source = 'GTFS feed'): GtfsFeed {
  const issues = new IssueList();
  for (const f of REQUIRED_FILES) if (files[f] === undefined) issues.add(f, 'required file is missing');
  const table = (file: string, required: readonly string[]): Table | undefined => {
    const text = files[file];
    if (text === undefined) return undefined;
    const csv = parseCsv(text, file, issues);
    if (csv.header.length === 0) {
      issues.add(`${file}:1`, 'file is empty (no header)');
      return undefined;
    }
    const t = new Table(file, csv, issues, required);
    return t.ok ? t : undefined;
  };

  // agency.txt (optional)
  const agencies: GtfsAgency[] = [];
  const agencyT = table('agency.txt', ['agency_name', 'agency_timezone']);
  if (agencyT) {
    for (const r of agencyT.rows()) {
      const name = agencyT.required(r, 'agency_name');
      const timezone = agencyT.required(r, 'agency_timezone');
      if (timezone !== undefined && !validTimezone(timezone)) issues.add(agencyT.at(r, 'agency_timezone'), `"${timezone}" is not an IANA time zone`);
      agencies.push({ agencyId: agencyT.raw(r, 'agency_id'), name: name ?? '', timezone: timezone ?? '' });
    }
  }

  // routes.txt
  const routes = new Map<string, GtfsRoute>();
  const routeT = table('routes.txt', ['route_id', 'route_type']);
  if (routeT) {
    for (const r of routeT.rows()) {
      const routeId = routeT.required(r, 'route_id');
      const routeType = routeT.number(r, 'route_type', 0, 1702, { required: true, integer: true });
      const shortName = routeT.raw(r, 'route_short_name');
      const longName = routeT.raw(r, 'route_long_name');
      if (shortName === '' && longName === '') issues.add(routeT.at(r, 'route_short_name'), 'route_short_name or route_long_name is required');
      if (routeId === undefined) continue;
      if (routes.has(routeId)) {
        issues.add(routeT.at(r, 'route_id'), `duplicate route_id "${routeId}"`);
        continue;
      }
      routes.set(routeId, { routeId, agencyId: routeT.raw(r, 'agency_id'), shortName, longName, routeType: routeType ?? 3 });
    }
  }

  // stops.txt
  const stops = new Map<string, GtfsStop>();
  const stopT = table('stops.txt', ['stop_id']);
  if (stopT) {
    for (const r of stopT.rows()) {
      const stopId = stopT.required(r, 'stop_id');
      // Stations/entrances (location_type 2..4) may lack coordinates; stops and stations need them.
      const locationType = stopT.number(r, 'location_type', 0, 4, { required: false, integer: true }) ?? 0;
      const needsPos = locationType <= 2;
      const lat = stopT.number(r, 'stop_lat', -90, 90, { required: needsPos });
      const lon = stopT.number(r, 'stop_lon', -180, 180, { required: needsPos });
      if (stopId === undefined) continue;
      if (stops.has(stopId)) {
        issues.add(stopT.at(r, 'stop_id'), `duplicate stop_id "${stopId}"`);
        continue;
      }
      if (lat !== undefined && lon !== undefined) stops.set(stopId, { stopId, name: stopT.raw(r, 'stop_name'), lat, lon });
    }
  }

  // shapes.txt (optional)
  const shapeRows = new Map<string, { p: GtfsShapePoint; line: number }[]>();
  const shapeT = table('shapes.txt', ['shape_id', 'shape_pt_lat', 'shape_pt_lon', 'shape_pt_sequence']);
  if (shapeT) {
    for (const r of shapeT.rows()) {
      const shapeId = shapeT.required(r, 'shape_id');
      const lat = shapeT.number(r, 'shape_pt_lat', -90, 90, { required: true });
      const lon = shapeT.number(r, 'shape_pt_lon', -180, 180, { required: true });
      const sequence = shapeT.number(r, 'shape_pt_sequence', 0, Number.MAX_SAFE_INTEGER, { required: true, integer: true });
      if (shapeId === undefined || lat === undefined || lon === undefined || sequence === undefined) continue;
      let list = shapeRows.get(shapeId);
      if (!list) shapeRows.set(shapeId, (list = []));
      list.push({ p: { lat, lon, sequence }, line: r.line });
    }
  }
  const shapes = new Map<string, GtfsShapePoint[]>();
  for (const [shapeId, list] of shapeRows) {
    list.sort((a, b) => a.p.sequence - b.p.sequence);
    for (let k = 1; k < list.length; k++) {
      if (list[k]!.p.sequence === list[k - 1]!.p.sequence) issues.add(`shapes.txt:${list[k]!.line} shape_pt_sequence`, `duplicate sequence ${list[k]!.p.sequence} in shape "${shapeId}"`);
    }
    if (list.length < 2) issues.add(`shapes.txt:${list[0]!.line} shape_id`, `shape "${shapeId}" has fewer than two points`);
    shapes.set(shapeId, list.map((x) => x.p));
  }

  // trips.txt
  const trips = new Map<string, GtfsTrip>();
  const tripLine = new Map<string, number>();
  const tripT = table('trips.txt', ['route_id', 'service_id', 'trip_id']);
  if (tripT) {
    for (const r of tripT.rows()) {
      const routeId = tripT.required(r, 'route_id');
      const serviceId = tripT.required(r, 'service_id');
      const tripId = tripT.required(r, 'trip_id');
      const directionId = tripT.number(r, 'direction_id', 0, 1, { required: false, integer: true });
      const shapeId = tripT.raw(r, 'shape_id') || undefined;
      if (routeId !== undefined && routeT && !routes.has(routeId)) issues.add(tripT.at(r, 'route_id'), `unknown route_id "${routeId}"`);
      if (shapeId !== undefined && !shapes.has(shapeId) && !shapeRows.has(shapeId)) issues.add(tripT.at(r, 'shape_id'), `unknown shape_id "${shapeId}"`);
      if (routeId === undefined || serviceId === undefined || tripId === undefined) continue;
      if (trips.has(tripId)) {
        issues.add(tripT.at(r, 'trip_id'), `duplicate trip_id "${tripId}"`);
        continue;
      }
      trips.set(tripId, { tripId, routeId, serviceId, headsign: tripT.raw(r, 'trip_headsign'), directionId, shapeId });
      tripLine.set(tripId, r.line);
    }
  }

  // stop_times.txt
  interface RawStopTime {
    tripId: string;
    stopId: string;
    stopSequence: number;
    arrivalS: number | undefined;
    departureS: number | undefined;
    line: number;
  }
  const perTrip = new Map<string, RawStopTime[]>();
  const stT = table('stop_times.txt', ['trip_id', 'stop_id', 'stop_sequence', 'arrival_time', 'departure_time']);
  if (stT) {
    for (const r of stT.rows()) {
      const tripId = stT.required(r, 'trip_id');
      const stopId = stT.required(r, 'stop_id');
      const stopSequence = stT.number(r, 'stop_sequence', 0, Number.MAX_SAFE_INTEGER, { required: true, integer: true });
      let arrivalS = stT.time(r, 'arrival_time');
      let departureS = stT.time(r, 'departure_time');
      const arrivalRaw = stT.raw(r, 'arrival_time');
      const departureRaw = stT.raw(r, 'departure_time');
      if ((arrivalRaw !== '' && arrivalS === undefined) || (departureRaw !== '' && departureS === undefined)) {
        // already reported as malformed; keep the record out of the order checks
        arrivalS = departureS = undefined;
      } else if (arrivalS !== undefined && departureS !== undefined && departureS < arrivalS) {
        issues.add(stT.at(r, 'departure_time'), `${departureRaw} is before arrival_time ${arrivalRaw}`);
      }
      if (arrivalS === undefined) arrivalS = departureS;
      if (departureS === undefined) departureS = arrivalS;
      if (tripId !== undefined && tripT && !trips.has(tripId)) issues.add(stT.at(r, 'trip_id'), `unknown trip_id "${tripId}"`);
      if (stopId !== undefined && stopT && !stops.has(stopId)) issues.add(stT.at(r, 'stop_id'), `unknown stop_id "${stopId}"`);
      if (tripId === undefined || stopId === undefined || stopSequence === undefined) continue;
      let list = perTrip.get(tripId);
      if (!list) perTrip.set(tripId, (list = []));
      list.push({ tripId, stopId, stopSequence, arrivalS, departureS, line: r.line });
    }
  }

  const stopTimes = new Map<string, GtfsStopTime[]>();
  for (const [tripId, list] of perTrip) {
    if (!trips.has(tripId)) continue;
    list.sort((a, b) => a.stopSequence - b.stopSequence);
    let ok = true;
    for (let k = 1; k < list.length; k++) {
      if (list[k]!.stopSequence === list[k - 1]!.stopSequence) {
        issues.add(`stop_times.txt:${list[k]!.line} stop_sequence`, `duplicate stop_sequence ${list[k]!.stopSequence} in trip "${tripId}"`);
        ok = false;
      }
    }
    const first = list[0]!;
    const last = list[list.length - 1]!;
    if (list.length < 2) {
      issues.add(`stop_times.txt:${first.line} trip_id`, `trip "${tripId}" has fewer than two stop times`);
      continue;
    }
    if (first.arrivalS === undefined) {
      issues.add(`stop_times.txt:${first.line} arrival_time`, `the first stop of trip "${tripId}" must have a time`);
      ok = false;
    }
    if (last.arrivalS === undefined) {
      issues.add(`stop_times.txt:${last.line} arrival_time`, `the last stop of trip "${tripId}" must have a time`);
      ok = false;
    }
    let prev: RawStopTime | undefined;
    for (const st of list) {
      if (st.arrivalS === undefined) continue;
      if (prev && st.arrivalS < prev.departureS!) {
        issues.add(`stop_times.txt:${st.line} arrival_time`, `${formatGtfsTime(st.arrivalS)} is before the departure ${formatGtfsTime(prev.departureS!)} from the previous stop (line ${prev.line})`);
        ok = false;
      }
      prev = st;
    }
    if (!ok || list.some((st) => !stops.has(st.stopId))) continue;
    stopTimes.set(tripId, interpolateUntimed(list, stops));
  }
  for (const [tripId, line] of tripLine) {
    if (stT && !perTrip.has(tripId)) issues.add(`trips.txt:${line} trip_id`, `trip "${tripId}" has no stop times`);
  }

  // calendar.txt and calendar_dates.txt (GTFS asks for at least one; with neither, every day runs)
  const calendars = new Map<string, GtfsCalendar>();
  const calT = table('calendar.txt', ['service_id', ...WEEKDAYS, 'start_date', 'end_date']);
  if (calT) {
    for (const r of calT.rows()) {
      const serviceId = calT.required(r, 'service_id');
      const days = WEEKDAYS.map((d) => calT.number(r, d, 0, 1, { required: true, integer: true }));
      const dates = (['start_date', 'end_date'] as const).map((col) => {
        const v = calT.required(r, col);
        const n = v === undefined ? undefined : parseGtfsDate(v);
        if (v !== undefined && n === undefined) issues.add(calT.at(r, col), `"${v}" is not a date YYYYMMDD`);
        return n;
      });
      if (dates[0] !== undefined && dates[1] !== undefined && dates[1] < dates[0]) issues.add(calT.at(r, 'end_date'), `${dates[1]} is before start_date ${dates[0]}`);
      if (serviceId === undefined || days.some((d) => d === undefined) || dates.some((d) => d === undefined)) continue;
      if (calendars.has(serviceId)) issues.add(calT.at(r, 'service_id'), `duplicate service_id "${serviceId}"`);
      calendars.set(serviceId, { serviceId, days: days.map((d) => d === 1), startDate: dates[0]!, endDate: dates[1]! });
    }
  }
  const calendarDates = new Map<string, Map<number, 1 | 2>>();
  const cdT = table('calendar_dates.txt', ['service_id', 'date', 'exception_type']);
  if (cdT) {
    for (const r of cdT.rows()) {
      const serviceId = cdT.required(r, 'service_id');
      const v = cdT.required(r, 'date');
      const date = v === undefined ? undefined : parseGtfsDate(v);
      if (v !== undefined && date === undefined) issues.add(cdT.at(r, 'date'), `"${v}" is not a date YYYYMMDD`);
      const type = cdT.number(r, 'exception_type', 1, 2, { required: true, integer: true });
      if (serviceId === undefined || date === undefined || type === undefined) continue;
      let m = calendarDates.get(serviceId);
      if (!m) calendarDates.set(serviceId, (m = new Map()));
      if (m.has(date)) issues.add(cdT.at(r, 'date'), `duplicate date ${date} for service "${serviceId}"`);
      m.set(date, type as 1 | 2);
    }
  }
  const hasCalendar = files['calendar.txt'] !== undefined || files['calendar_dates.txt'] !== undefined;
  if (hasCalendar) {
    for (const t of trips.values()) {
      if (!calendars.has(t.serviceId) && !calendarDates.has(t.serviceId)) issues.add(`trips.txt:${tripLine.get(t.tripId)} service_id`, `service "${t.serviceId}" is in neither calendar.txt nor calendar_dates.txt`);
    }
  }

  issues.throwIfAny(source);
  return { agencies, routes, stops, trips, stopTimes, shapes, calendars, calendarDates, hasCalendar };
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Fills empty times of intermediate stops by straight-line distance between the timed neighbours. */
function interpolateUntimed(
  list: readonly { tripId: string; stopId: string; stopSequence: number; arrivalS: number | undefined; departureS: number | undefined }[],
  stops: ReadonlyMap<string, GtfsStop>,
): GtfsStopTime[] {
  const cum = [0];
  for (let k = 1; k < list.length; k++) cum.push(cum[k - 1]! + haversineM(stops.get(list[k - 1]!.stopId)!, stops.get(list[k]!.stopId)!));
  const out: GtfsStopTime[] = [];
  let prevTimed = 0;
  for (let k = 0; k < list.length; k++) {
    const st = list[k]!;
    if (st.arrivalS !== undefined) {
      out.push({ tripId: st.tripId, stopId: st.stopId, stopSequence: st.stopSequence, arrivalS: st.arrivalS, departureS: st.departureS!, timed: true });
      prevTimed = k;
      continue;
    }
    let next = k + 1;
    while (list[next]!.arrivalS === undefined) next++;
    const a = list[prevTimed]!;
    const b = list[next]!;
    const span = cum[next]! - cum[prevTimed]!;
    const f = span > 0 ? (cum[k]! - cum[prevTimed]!) / span : (k - prevTimed) / (next - prevTimed);
    const t = a.departureS! + f * (b.arrivalS! - a.departureS!);
    out.push({ tripId: st.tripId, stopId: st.stopId, stopSequence: st.stopSequence, arrivalS: t, departureS: t, timed: false });
  }
  return out;
}

/** Reads a feed directory. Missing optional files are fine; unreadable files are IO errors. */
export async function loadGtfsDir(dir: string): Promise<GtfsFeed> {
  const files: Record<string, string | undefined> = {};
  for (const f of [...REQUIRED_FILES, ...OPTIONAL_FILES]) {
    try {
      files[f] = await readFile(join(dir, f), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new GreenwaveError(ErrorCode.Io, `cannot read ${join(dir, f)}: ${(e as Error).message}`, [], { cause: e });
    }
  }
  return parseGtfs(files, `GTFS feed ${dir}`);
}
