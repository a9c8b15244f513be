/**
 * The GTFS import steps for the files that define things: agency.txt,
 * routes.txt, stops.txt, shapes.txt and trips.txt. Each step reads one file and
 * adds its problems to the shared issue list. A step returns undefined when its
 * file is absent or unusable, so later steps skip the cross-file checks that
 * would only repeat that problem. Called in order by parseGtfs (gtfs.ts).
 */
import type { IssueList } from '../errors.js';
import type { GtfsAgency, GtfsRoute, GtfsShapePoint, GtfsStop, GtfsTrip } from './gtfsFeed.js';
import { openTable, type GtfsFiles } from './gtfsTable.js';
import { validTimezone } from './gtfsValues.js';

/** agency.txt (optional). */
export function readAgencies(files: GtfsFiles, issues: IssueList): GtfsAgency[] {
  const agencies: GtfsAgency[] = [];
  const t = openTable(files, 'agency.txt', ['agency_name', 'agency_timezone'], issues);
  if (!t) return agencies;
  for (const r of t.rows()) {
    const name = t.required(r, 'agency_name');
    const timezone = t.required(r, 'agency_timezone');
    if (timezone !== undefined && !validTimezone(timezone)) issues.add(t.at(r, 'agency_timezone'), `"${timezone}" is not an IANA time zone`);
    agencies.push({ agencyId: t.raw(r, 'agency_id'), name: name ?? '', timezone: timezone ?? '' });
  }
  return agencies;
}

/** routes.txt. */
export function readRoutes(files: GtfsFiles, issues: IssueList): Map<string, GtfsRoute> | undefined {
  const t = openTable(files, 'routes.txt', ['route_id', 'route_type'], issues);
  if (!t) return undefined;
  const routes = new Map<string, GtfsRoute>();
  for (const r of t.rows()) {
    const routeId = t.required(r, 'route_id');
    const routeType = t.number(r, 'route_type', 0, 1702, { required: true, integer: true });
    const shortName = t.raw(r, 'route_short_name');
    const longName = t.raw(r, 'route_long_name');
    if (shortName === '' && longName === '') issues.add(t.at(r, 'route_short_name'), 'route_short_name or route_long_name is required');
    if (routeId === undefined) continue;
    if (routes.has(routeId)) {
      issues.add(t.at(r, 'route_id'), `duplicate route_id "${routeId}"`);
      continue;
    }
    routes.set(routeId, { routeId, agencyId: t.raw(r, 'agency_id'), shortName, longName, routeType: routeType ?? 3 });
  }
  return routes;
}

/** stops.txt. Stops without coordinates (allowed for some location types) are left out. */
export function readStops(files: GtfsFiles, issues: IssueList): Map<string, GtfsStop> | undefined {
  const t = openTable(files, 'stops.txt', ['stop_id'], issues);
  if (!t) return undefined;
  const stops = new Map<string, GtfsStop>();
  for (const r of t.rows()) {
    const stopId = t.required(r, 'stop_id');
    // Stations/entrances (location_type 2..4) may lack coordinates; stops and stations need them.
    const locationType = t.number(r, 'location_type', 0, 4, { required: false, integer: true }) ?? 0;
    const needsPos = locationType <= 2;
    const lat = t.number(r, 'stop_lat', -90, 90, { required: needsPos });
    const lon = t.number(r, 'stop_lon', -180, 180, { required: needsPos });
    if (stopId === undefined) continue;
    if (stops.has(stopId)) {
      issues.add(t.at(r, 'stop_id'), `duplicate stop_id "${stopId}"`);
      continue;
    }
    if (lat !== undefined && lon !== undefined) stops.set(stopId, { stopId, name: t.raw(r, 'stop_name'), lat, lon });
  }
  return stops;
}

/** shapes.txt (optional): points per shape id, sorted by shape_pt_sequence. */
export function readShapes(files: GtfsFiles, issues: IssueList): Map<string, GtfsShapePoint[]> {
  const shapeRows = new Map<string, { p: GtfsShapePoint; line: number }[]>();
  const t = openTable(files, 'shapes.txt', ['shape_id', 'shape_pt_lat', 'shape_pt_lon', 'shape_pt_sequence'], issues);
  if (t) {
    for (const r of t.rows()) {
      const shapeId = t.required(r, 'shape_id');
      const lat = t.number(r, 'shape_pt_lat', -90, 90, { required: true });
      const lon = t.number(r, 'shape_pt_lon', -180, 180, { required: true });
      const sequence = t.number(r, 'shape_pt_sequence', 0, Number.MAX_SAFE_INTEGER, { required: true, integer: true });
      if (shapeId === undefined || lat === undefined || lon === undefined || sequence === undefined) continue;
      let list = shapeRows.get(shapeId);
      if (!list) {
        list = [];
        shapeRows.set(shapeId, list);
      }
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
    // Kept even when faulty, so that trips naming it are not also reported as naming an unknown shape.
    shapes.set(shapeId, list.map((x) => x.p));
  }
  return shapes;
}

export interface TripsRead {
  readonly trips: Map<string, GtfsTrip>;
  /** Line of each trip in trips.txt, for issues found by later steps. */
  readonly lineOf: Map<string, number>;
}

/** trips.txt. Route ids are checked only when routes.txt was usable (`routes` defined). */
export function readTrips(
  files: GtfsFiles,
  issues: IssueList,
  routes: ReadonlyMap<string, GtfsRoute> | undefined,
  shapes: ReadonlyMap<string, readonly GtfsShapePoint[]>,
): TripsRead | undefined {
  const t = openTable(files, 'trips.txt', ['route_id', 'service_id', 'trip_id'], issues);
  if (!t) return undefined;
  const trips = new Map<string, GtfsTrip>();
  const lineOf = new Map<string, number>();
  for (const r of t.rows()) {
    const routeId = t.required(r, 'route_id');
    const serviceId = t.required(r, 'service_id');
    const tripId = t.required(r, 'trip_id');
    const directionId = t.number(r, 'direction_id', 0, 1, { required: false, integer: true });
    const shapeId = t.raw(r, 'shape_id') || undefined;
    if (routeId !== undefined && routes && !routes.has(routeId)) issues.add(t.at(r, 'route_id'), `unknown route_id "${routeId}"`);
    if (shapeId !== undefined && !shapes.has(shapeId)) issues.add(t.at(r, 'shape_id'), `unknown shape_id "${shapeId}"`);
    if (routeId === undefined || serviceId === undefined || tripId === undefined) continue;
    if (trips.has(tripId)) {
      issues.add(t.at(r, 'trip_id'), `duplicate trip_id "${tripId}"`);
      continue;
    }
    trips.set(tripId, { tripId, routeId, serviceId, headsign: t.raw(r, 'trip_headsign'), directionId, shapeId });
    lineOf.set(tripId, r.line);
  }
  return { trips, lineOf };
}
