/**
 * The GTFS static model the engine keeps: agency, routes, stops, trips,
 * stop_times, shapes and the service calendar, plus `serviceRuns`, which says
 * whether a service runs on a date. Built by parseGtfs (gtfs.ts); read by
 * stopsNearSignals.ts, realtime.ts and the service's transit index.
 * Times are seconds after midnight of the service day; GTFS times past 24:00 are valid.
 */

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
