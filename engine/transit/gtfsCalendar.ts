/**
 * The GTFS import steps for the service calendar: calendar.txt (weekly pattern
 * over a date range), calendar_dates.txt (added and removed dates), and the
 * check that every trip's service is in one of them. GTFS asks for at least one
 * of the two files; a feed with neither runs every trip every day. Called by
 * parseGtfs (gtfs.ts) after the trips are read.
 */
import type { IssueList } from '../errors.js';
import type { GtfsCalendar } from './gtfsFeed.js';
import type { TripsRead } from './gtfsEntities.js';
import { openTable, type GtfsFiles } from './gtfsTable.js';
import { parseGtfsDate } from './gtfsValues.js';

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** calendar.txt (optional), by service id. */
export function readCalendars(files: GtfsFiles, issues: IssueList): Map<string, GtfsCalendar> {
  const calendars = new Map<string, GtfsCalendar>();
  const t = openTable(files, 'calendar.txt', ['service_id', ...WEEKDAYS, 'start_date', 'end_date'], issues);
  if (!t) return calendars;
  for (const r of t.rows()) {
    const serviceId = t.required(r, 'service_id');
    const days = WEEKDAYS.map((d) => t.number(r, d, 0, 1, { required: true, integer: true }));
    const dates = (['start_date', 'end_date'] as const).map((col) => {
      const v = t.required(r, col);
      const n = v === undefined ? undefined : parseGtfsDate(v);
      if (v !== undefined && n === undefined) issues.add(t.at(r, col), `"${v}" is not a date YYYYMMDD`);
      return n;
    });
    if (dates[0] !== undefined && dates[1] !== undefined && dates[1] < dates[0]) issues.add(t.at(r, 'end_date'), `${dates[1]} is before start_date ${dates[0]}`);
    if (serviceId === undefined || days.some((d) => d === undefined) || dates.some((d) => d === undefined)) continue;
    if (calendars.has(serviceId)) issues.add(t.at(r, 'service_id'), `duplicate service_id "${serviceId}"`);
    calendars.set(serviceId, { serviceId, days: days.map((d) => d === 1), startDate: dates[0]!, endDate: dates[1]! });
  }
  return calendars;
}

/** calendar_dates.txt (optional): per service id, date (yyyymmdd) → 1 added, 2 removed. */
export function readCalendarDates(files: GtfsFiles, issues: IssueList): Map<string, Map<number, 1 | 2>> {
  const calendarDates = new Map<string, Map<number, 1 | 2>>();
  const t = openTable(files, 'calendar_dates.txt', ['service_id', 'date', 'exception_type'], issues);
  if (!t) return calendarDates;
  for (const r of t.rows()) {
    const serviceId = t.required(r, 'service_id');
    const v = t.required(r, 'date');
    const date = v === undefined ? undefined : parseGtfsDate(v);
    if (v !== undefined && date === undefined) issues.add(t.at(r, 'date'), `"${v}" is not a date YYYYMMDD`);
    const type = t.number(r, 'exception_type', 1, 2, { required: true, integer: true });
    if (serviceId === undefined || date === undefined || type === undefined) continue;
    let m = calendarDates.get(serviceId);
    if (!m) {
      m = new Map();
      calendarDates.set(serviceId, m);
    }
    if (m.has(date)) issues.add(t.at(r, 'date'), `duplicate date ${date} for service "${serviceId}"`);
    m.set(date, type as 1 | 2);
  }
  return calendarDates;
}

/**
 * Whether the feed has a calendar at all; if it has, reports each trip whose
 * service is in neither file (such a trip would silently never run).
 */
export function checkTripServices(
  files: GtfsFiles,
  issues: IssueList,
  tripsRead: TripsRead | undefined,
  calendars: ReadonlyMap<string, GtfsCalendar>,
  calendarDates: ReadonlyMap<string, ReadonlyMap<number, 1 | 2>>,
): boolean {
  const hasCalendar = files['calendar.txt'] !== undefined || files['calendar_dates.txt'] !== undefined;
  if (!hasCalendar || !tripsRead) return hasCalendar;
  for (const t of tripsRead.trips.values()) {
    if (!calendars.has(t.serviceId) && !calendarDates.has(t.serviceId)) issues.add(`trips.txt:${tripsRead.lineOf.get(t.tripId)} service_id`, `service "${t.serviceId}" is in neither calendar.txt nor calendar_dates.txt`);
  }
  return hasCalendar;
}
