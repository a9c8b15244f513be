import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, GreenwaveError, ValidationError } from '../errors.js';
import { loadGtfsDir, parseGtfs } from './gtfs.js';
import { serviceRuns } from './gtfsFeed.js';
import { formatGtfsTime, parseGtfsTime } from './gtfsValues.js';

const DIR = join(import.meta.dirname, '../../test/fixtures/gtfs/renmin');

function fixtureFiles(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const f of readdirSync(DIR)) out[f] = readFileSync(join(DIR, f), 'utf8');
  return out;
}

/** Issues of a feed that must fail, as "path: message". */
function issuesOf(files: Record<string, string | undefined>): string[] {
  try {
    parseGtfs(files);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe(ErrorCode.InvalidInput);
    return (e as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ValidationError');
}

describe('GTFS times', () => {
  it('parses H:MM:SS and HH:MM:SS, including past 24:00', () => {
    expect(parseGtfsTime('08:05:20')).toBe(8 * 3600 + 5 * 60 + 20);
    expect(parseGtfsTime('8:05:20')).toBe(8 * 3600 + 5 * 60 + 20);
    expect(parseGtfsTime('25:10:00')).toBe(25 * 3600 + 600);
    for (const bad of ['25:61:00', '08:00', '08:00:60', 'ab:cd:ef', '-1:00:00', '']) expect(parseGtfsTime(bad)).toBeUndefined();
    expect(formatGtfsTime(25 * 3600 + 61)).toBe('25:01:01');
  });
});

describe('GTFS import', () => {
  it('reads the Renmin Rd fixture', async () => {
    const feed = await loadGtfsDir(DIR);
    expect(feed.agencies).toEqual([{ agencyId: 'GWB', name: 'Greenwave Demo Bus', timezone: 'Asia/Shanghai' }]);
    expect(feed.routes.get('R1')).toMatchObject({ shortName: '1', longName: 'Renmin Rd, eastbound', routeType: 3 });
    expect([...feed.stops.keys()]).toEqual(['S0', 'S2', 'S4', 'S6', 'S8']);
    expect(feed.stops.get('S8')!.name).toBe('Dongfeng St "East" Terminal');
    expect(feed.stops.get('S2')).toMatchObject({ lat: 30.2719, lon: 120.135 });
    expect(feed.trips.get('T2')).toMatchObject({ routeId: 'R1', serviceId: 'WD', directionId: 0, shapeId: 'SH1' });
    const st = feed.stopTimes.get('T2')!;
    expect(st.map((s) => s.stopId)).toEqual(['S0', 'S2', 'S4', 'S6', 'S8']);
    expect(st[1]).toMatchObject({ arrivalS: 8 * 3600 + 12 * 60, departureS: 8 * 3600 + 12 * 60 + 20, timed: true });
    expect(feed.shapes.get('SH1')).toHaveLength(10);
  });

  it('sorts stop_times per trip by stop_sequence, accepts times past 24:00 and interpolates untimed stops by distance', () => {
    const files = fixtureFiles();
    files['stop_times.txt'] =
      'trip_id,arrival_time,departure_time,stop_id,stop_sequence\n' +
      'T1,25:10:00,25:10:00,S8,5\n' +
      'T1,24:59:00,24:59:00,S0,1\n' +
      'T1,,,S4,3\n' +
      'T1,,,S2,2\n' +
      'T2,08:00:00,08:00:00,S0,1\n' +
      'T2,08:10:00,08:10:00,S8,2\n';
    const feed = parseGtfs(files);
    const st = feed.stopTimes.get('T1')!;
    expect(st.map((s) => s.stopSequence)).toEqual([1, 2, 3, 5]);
    expect(st[0]!.arrivalS).toBe(24 * 3600 + 59 * 60);
    expect(st[2]!.timed).toBe(false);
    // S0→S4 is 1650 m of the 3441 m to S8: the interpolated time sits in proportion.
    const f = (st[2]!.arrivalS - st[0]!.departureS) / (st[3]!.arrivalS - st[0]!.departureS);
    expect(f).toBeCloseTo((120.14515 - 120.128) / (120.1638 - 120.128), 2);
    expect(st[1]!.arrivalS).toBeLessThan(st[2]!.arrivalS);
  });

  it('works without the optional agency.txt and shapes.txt', () => {
    const files = fixtureFiles();
    delete files['agency.txt'];
    delete files['shapes.txt'];
    files['trips.txt'] = 'route_id,service_id,trip_id\nR1,WD,T1\nR1,WD,T2\n';
    const feed = parseGtfs(files);
    expect(feed.agencies).toEqual([]);
    expect(feed.shapes.size).toBe(0);
    expect(feed.trips.get('T1')!.shapeId).toBeUndefined();
  });

  it('reports every missing required file', () => {
    expect(issuesOf({ 'agency.txt': 'agency_name,agency_timezone\nA,UTC\n' })).toEqual([
      'routes.txt: required file is missing',
      'stops.txt: required file is missing',
      'trips.txt: required file is missing',
      'stop_times.txt: required file is missing',
    ]);
  });

  it('missing directory files are reported, unreadable paths are IO errors', async () => {
    await expect(loadGtfsDir(join(DIR, 'nope'))).rejects.toBeInstanceOf(ValidationError);
    const err = await loadGtfsDir(join(DIR, 'stops.txt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GreenwaveError);
    expect((err as GreenwaveError).code).toBe(ErrorCode.Io);
  });

  it('reports missing required columns and empty files', () => {
    const files = fixtureFiles();
    files['stops.txt'] = 'stop_id,stop_name\nS0,x\n';
    files['routes.txt'] = '';
    files['stop_times.txt'] = 'trip_id,stop_id,stop_sequence,departure_time\n';
    expect(issuesOf(files)).toEqual([
      'routes.txt:1: file is empty (no header)',
      'stops.txt:2 stop_lat: is required',
      'stops.txt:2 stop_lon: is required',
      'stop_times.txt:1 arrival_time: required column is missing',
    ]);
  });

  it('reports each bad value with file:line and column', () => {
    const files = fixtureFiles();
    files['agency.txt'] = 'agency_id,agency_name,agency_timezone\nGWB,Demo,Mars/Olympus\n';
    files['routes.txt'] = 'route_id,agency_id,route_short_name,route_long_name,route_type\nR1,GWB,1,,3\nR1,GWB,1,,3\nR2,GWB,,,bus\n';
    files['stops.txt'] = 'stop_id,stop_name,stop_lat,stop_lon\nS0,a,30.27185,120.128\nS2,b,95,120.135\nS4,c,30.27198,east\nS6,d,30.2719,120.15337\nS8,e,30.27187,120.1638\nS8,f,30,120\n';
    files['trips.txt'] = 'route_id,service_id,trip_id,shape_id\nR1,WD,T1,SH1\nR9,WD,T2,SH9\n,WD,T3,\nR1,WD,T4,\nR1,WD,T5,\n';
    files['stop_times.txt'] = [
      'trip_id,arrival_time,departure_time,stop_id,stop_sequence',
      'T1,08:00:00,08:00:00,S0,1',
      'T1,08:02:00,08:01:00,S6,2',
      'T1,25:61:00,25:61:00,S6,3',
      'T1,08:00:30,08:00:30,S8,4',
      'T1,08:09:00,08:09:00,S8,4',
      'T1,08:10:00,08:10:00,S7,5',
      'TX,08:00:00,08:00:00,S0,1',
      'T2,08:00:00,08:00:00,S0,x',
      'T2,08:05:00,08:05:00,S8,2',
      'T2,8:10,8:10,S8,3',
      'T2,08:20:00,08:20:00,S8',
      'T4,08:00:00,08:00:00,S0,1',
    ].join('\n');
    files['shapes.txt'] = 'shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\nSH1,30.27,120.12,1\nSH1,30.27,120.13,1\n';
    expect(issuesOf(files)).toEqual([
      'agency.txt:2 agency_timezone: "Mars/Olympus" is not an IANA time zone',
      'routes.txt:3 route_id: duplicate route_id "R1"',
      'routes.txt:4 route_type: "bus" is not an integer',
      'routes.txt:4 route_short_name: route_short_name or route_long_name is required',
      'stops.txt:3 stop_lat: 95 is outside -90..90',
      'stops.txt:4 stop_lon: "east" is not a number',
      'stops.txt:7 stop_id: duplicate stop_id "S8"',
      'shapes.txt:3 shape_pt_sequence: duplicate sequence 1 in shape "SH1"',
      'trips.txt:3 route_id: unknown route_id "R9"',
      'trips.txt:3 shape_id: unknown shape_id "SH9"',
      'trips.txt:4 route_id: is required',
      'stop_times.txt:3 departure_time: 08:01:00 is before arrival_time 08:02:00',
      'stop_times.txt:4 arrival_time: "25:61:00" is not HH:MM:SS',
      'stop_times.txt:4 departure_time: "25:61:00" is not HH:MM:SS',
      'stop_times.txt:7 stop_id: unknown stop_id "S7"',
      'stop_times.txt:8 trip_id: unknown trip_id "TX"',
      'stop_times.txt:9 stop_sequence: "x" is not an integer',
      'stop_times.txt:11 arrival_time: "8:10" is not HH:MM:SS',
      'stop_times.txt:11 departure_time: "8:10" is not HH:MM:SS',
      'stop_times.txt:12: has 4 fields, the header has 5',
      'stop_times.txt:6 stop_sequence: duplicate stop_sequence 4 in trip "T1"',
      'stop_times.txt:5 arrival_time: 08:00:30 is before the departure 08:01:00 from the previous stop (line 3)',
      'stop_times.txt:11 arrival_time: the last stop of trip "T2" must have a time',
      'stop_times.txt:13 trip_id: trip "T4" has fewer than two stop times',
      'trips.txt:6 trip_id: trip "T5" has no stop times',
    ]);
  });

  it('the error message lists every issue as file:line column: message', () => {
    const files = fixtureFiles();
    files['stop_times.txt'] = files['stop_times.txt']!.replace('T1,08:05:00,08:05:20,S4,30', 'T1,25:61:00,08:05:20,S4,30');
    const err = (() => {
      try {
        parseGtfs(files, 'GTFS feed renmin');
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error('expected an error');
    })();
    expect(err.message).toContain('GTFS feed renmin: 1 problem');
    expect(err.message).toContain('stop_times.txt:4 arrival_time: "25:61:00" is not HH:MM:SS');
  });

  it('requires times at the first and last stop', () => {
    const files = fixtureFiles();
    files['stop_times.txt'] = 'trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,,,S0,1\nT1,08:10:00,08:10:00,S8,2\nT2,08:00:00,08:00:00,S0,1\nT2,,,S8,2\n';
    expect(issuesOf(files)).toEqual([
      'stop_times.txt:2 arrival_time: the first stop of trip "T1" must have a time',
      'stop_times.txt:5 arrival_time: the last stop of trip "T2" must have a time',
    ]);
  });
});

describe('service calendar', () => {
  const CAL = 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nWD,1,1,1,1,1,0,0,20260101,20261231\nWE,0,0,0,0,0,1,1,20260101,20261231\n';
  const DATES = 'service_id,date,exception_type\nWD,20261225,2\nWE,20261225,1\n';

  it('runs a service by weekday within its dates, with calendar_dates exceptions first', () => {
    const feed = parseGtfs({ ...fixtureFiles(), 'calendar.txt': CAL, 'calendar_dates.txt': DATES });
    expect(feed.hasCalendar).toBe(true);
    expect(serviceRuns(feed, 'WD', 20261124)).toBe(true); // a Tuesday
    expect(serviceRuns(feed, 'WD', 20261128)).toBe(false); // a Saturday
    expect(serviceRuns(feed, 'WE', 20261128)).toBe(true);
    expect(serviceRuns(feed, 'WD', 20261225)).toBe(false); // Friday, removed: a holiday
    expect(serviceRuns(feed, 'WE', 20261225)).toBe(true); // added for the holiday
    expect(serviceRuns(feed, 'WD', 20270105)).toBe(false); // after end_date
    // Without calendar files every trip runs every day.
    const open = parseGtfs(fixtureFiles());
    expect(open.hasCalendar).toBe(false);
    expect(serviceRuns(open, 'WD', 20261128)).toBe(true);
  });

  it('locates bad calendar rows and trips whose service no calendar knows', () => {
    const bad = 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nX,1,1,1,1,1,2,0,20261301,20260101\n';
    const got = issuesOf({ ...fixtureFiles(), 'calendar.txt': bad, 'calendar_dates.txt': 'service_id,date,exception_type\nX,20260230,3\n' });
    expect(got).toContain('calendar.txt:2 saturday: 2 is outside 0..1');
    expect(got).toContain('calendar.txt:2 start_date: "20261301" is not a date YYYYMMDD');
    expect(got).toContain('calendar_dates.txt:2 date: "20260230" is not a date YYYYMMDD');
    expect(got).toContain('calendar_dates.txt:2 exception_type: 3 is outside 1..2');
    expect(got).toContain('trips.txt:2 service_id: service "WD" is in neither calendar.txt nor calendar_dates.txt');
    const backwards = 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nWD,1,1,1,1,1,0,0,20261231,20260101\n';
    expect(issuesOf({ ...fixtureFiles(), 'calendar.txt': backwards })).toContain('calendar.txt:2 end_date: 20260101 is before start_date 20261231');
  });
});
