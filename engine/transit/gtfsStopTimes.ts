/**
 * The GTFS import step for stop_times.txt: reads the rows, groups them per trip
 * in stop_sequence order, checks each trip's times (first and last stop timed,
 * never going back in time) and fills the untimed stops in between by distance.
 * Called by parseGtfs (gtfs.ts) after stops and trips are read; trips and stops
 * are checked against only when their own file was usable.
 */
import type { IssueList } from '../errors.js';
import type { GtfsStop, GtfsStopTime } from './gtfsFeed.js';
import type { TripsRead } from './gtfsEntities.js';
import { openTable, type GtfsFiles } from './gtfsTable.js';
import { formatGtfsTime } from './gtfsValues.js';
import { haversineM } from './geo.js';

/** A row as read, before the per-trip checks; times undefined = left empty in the feed. */
interface RawStopTime {
  tripId: string;
  stopId: string;
  stopSequence: number;
  arrivalS: number | undefined;
  departureS: number | undefined;
  line: number;
}

/** stop_times.txt → per trip id, sorted by stop_sequence, untimed stops interpolated. */
export function readStopTimes(
  files: GtfsFiles,
  issues: IssueList,
  tripsRead: TripsRead | undefined,
  stopsRead: ReadonlyMap<string, GtfsStop> | undefined,
): Map<string, GtfsStopTime[]> {
  const trips = tripsRead?.trips ?? new Map();
  const stops = stopsRead ?? new Map<string, GtfsStop>();
  const t = openTable(files, 'stop_times.txt', ['trip_id', 'stop_id', 'stop_sequence', 'arrival_time', 'departure_time'], issues);
  const perTrip = new Map<string, RawStopTime[]>();
  if (t) {
    for (const r of t.rows()) {
      const tripId = t.required(r, 'trip_id');
      const stopId = t.required(r, 'stop_id');
      const stopSequence = t.number(r, 'stop_sequence', 0, Number.MAX_SAFE_INTEGER, { required: true, integer: true });
      let arrivalS = t.time(r, 'arrival_time');
      let departureS = t.time(r, 'departure_time');
      const arrivalRaw = t.raw(r, 'arrival_time');
      const departureRaw = t.raw(r, 'departure_time');
      if ((arrivalRaw !== '' && arrivalS === undefined) || (departureRaw !== '' && departureS === undefined)) {
        // already reported as malformed; keep the record out of the order checks
        arrivalS = departureS = undefined;
      } else if (arrivalS !== undefined && departureS !== undefined && departureS < arrivalS) {
        issues.add(t.at(r, 'departure_time'), `${departureRaw} is before arrival_time ${arrivalRaw}`);
      }
      if (arrivalS === undefined) arrivalS = departureS;
      if (departureS === undefined) departureS = arrivalS;
      if (tripId !== undefined && tripsRead && !trips.has(tripId)) issues.add(t.at(r, 'trip_id'), `unknown trip_id "${tripId}"`);
      if (stopId !== undefined && stopsRead && !stops.has(stopId)) issues.add(t.at(r, 'stop_id'), `unknown stop_id "${stopId}"`);
      if (tripId === undefined || stopId === undefined || stopSequence === undefined) continue;
      let list = perTrip.get(tripId);
      if (!list) {
        list = [];
        perTrip.set(tripId, list);
      }
      list.push({ tripId, stopId, stopSequence, arrivalS, departureS, line: r.line });
    }
  }

  const stopTimes = new Map<string, GtfsStopTime[]>();
  for (const [tripId, list] of perTrip) {
    if (!trips.has(tripId)) continue;
    list.sort((a, b) => a.stopSequence - b.stopSequence);
    if (!checkTrip(tripId, list, issues) || list.some((st) => !stops.has(st.stopId))) continue;
    stopTimes.set(tripId, interpolateUntimed(list, stops));
  }
  if (t && tripsRead) {
    for (const [tripId, line] of tripsRead.lineOf) {
      if (!perTrip.has(tripId)) issues.add(`trips.txt:${line} trip_id`, `trip "${tripId}" has no stop times`);
    }
  }
  return stopTimes;
}

/** One trip's stop times in sequence order: unique sequences, at least two, timed ends, no going back. */
function checkTrip(tripId: string, list: readonly RawStopTime[], issues: IssueList): boolean {
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
    return false;
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
  return ok;
}

/** Fills empty times of intermediate stops by straight-line distance between the timed neighbours. */
function interpolateUntimed(list: readonly RawStopTime[], stops: ReadonlyMap<string, GtfsStop>): GtfsStopTime[] {
  const cumM = [0];
  for (let k = 1; k < list.length; k++) cumM.push(cumM[k - 1]! + haversineM(stops.get(list[k - 1]!.stopId)!, stops.get(list[k]!.stopId)!));
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
    const spanM = cumM[next]! - cumM[prevTimed]!;
    const f = spanM > 0 ? (cumM[k]! - cumM[prevTimed]!) / spanM : (k - prevTimed) / (next - prevTimed);
    const t = a.departureS! + f * (b.arrivalS! - a.departureS!);
    out.push({ tripId: st.tripId, stopId: st.stopId, stopSequence: st.stopSequence, arrivalS: t, departureS: t, timed: false });
  }
  return out;
}
