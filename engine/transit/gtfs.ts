/**
 * GTFS static import: reads a feed from a directory of CSV files (or from the
 * file texts directly) and returns a typed, validated model (gtfsFeed.ts).
 * Called by the service's transit index (service/gtfs.ts) and the tests.
 * Every problem is collected with its location, `file:line column`, and thrown
 * together as one ValidationError, e.g.
 * `stop_times.txt:12 arrival_time: "25:61:00" is not HH:MM:SS`.
 * Line numbers are physical lines of the file (the header is line 1); a record
 * with a quoted line break is reported at the line it starts on.
 * Only what the transit priority needs is kept: agency, routes, stops, trips,
 * stop_times, shapes, and the service calendar (calendar.txt and
 * calendar_dates.txt) that says on which dates each trip runs. A feed with
 * neither calendar file runs every trip every day.
 *
 * This file is the orchestration: one step per file, in an order where each
 * step can check its references against the files read before it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, GreenwaveError, IssueList } from '../errors.js';
import { checkTripServices, readCalendarDates, readCalendars } from './gtfsCalendar.js';
import { readAgencies, readRoutes, readShapes, readStops, readTrips } from './gtfsEntities.js';
import type { GtfsFeed } from './gtfsFeed.js';
import { readStopTimes } from './gtfsStopTimes.js';
import type { GtfsFiles } from './gtfsTable.js';

export const REQUIRED_FILES = ['routes.txt', 'stops.txt', 'trips.txt', 'stop_times.txt'] as const;
export const OPTIONAL_FILES = ['agency.txt', 'shapes.txt', 'calendar.txt', 'calendar_dates.txt'] as const;

/** Builds a feed from file texts keyed by file name (`routes.txt`, …). Throws ValidationError with every problem. */
export function parseGtfs(files: GtfsFiles, source = 'GTFS feed'): GtfsFeed {
  const issues = new IssueList();
  for (const f of REQUIRED_FILES) if (files[f] === undefined) issues.add(f, 'required file is missing');
  const agencies = readAgencies(files, issues);
  const routes = readRoutes(files, issues);
  const stops = readStops(files, issues);
  const shapes = readShapes(files, issues);
  const trips = readTrips(files, issues, routes, shapes);
  const stopTimes = readStopTimes(files, issues, trips, stops);
  const calendars = readCalendars(files, issues);
  const calendarDates = readCalendarDates(files, issues);
  const hasCalendar = checkTripServices(files, issues, trips, calendars, calendarDates);
  issues.throwIfAny(source);
  return {
    agencies,
    routes: routes ?? new Map(),
    stops: stops ?? new Map(),
    trips: trips?.trips ?? new Map(),
    stopTimes,
    shapes,
    calendars,
    calendarDates,
    hasCalendar,
  };
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
