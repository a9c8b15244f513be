import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GreenwaveError } from '../errors.js';
import { loadCompiledNetwork } from '../network/load.js';
import type { z } from 'zod';
import type { ParkingFileSchema } from './schema.js';
import { compileParking, compileParkingText, isOpenAt, priceOfStay } from './load.js';

const c = loadCompiledNetwork(new URL('../../examples/demo-city/network.json', import.meta.url).pathname);
const demo = (): z.input<typeof ParkingFileSchema> => JSON.parse(readFileSync(new URL('../../examples/demo-city/parking.json', import.meta.url), 'utf8'));

function issuesOf(raw: unknown): string[] {
  try {
    compileParking(raw, c, 'parking.json');
  } catch (e: unknown) {
    if (e instanceof GreenwaveError && e.code === 'INVALID_INPUT') return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('parking file loader', () => {
  it('compiles the demo city: entrances on their links, capacities, fees, signs with their car parks', () => {
    const p = compileParking(demo(), c);
    expect(p.carParkCount).toBe(8);
    const k = p.carPark('P4')!;
    expect(p.capacity[k]).toBe(466);
    expect(c.network.links[p.entranceLink[p.entranceStart[k]!]!]!.id).toBe('L-I3-I2');
    expect(p.entrancePositionM[p.entranceStart[k]!]).toBe(189);
    expect(p.heightLimitM[k]).toBe(2.2);
    expect(p.heightLimitM[p.carPark('P3')!]).toBe(Number.POSITIVE_INFINITY);
    expect(p.dailyMaxPrice[p.carPark('P3')!]).toBe(Number.POSITIVE_INFINITY);
    expect(p.signCount).toBe(3);
    expect(p.signUnitId[0]).toBe(100);
    const line = p.signLineStart[1]! + 1; // S2's second line points to P4
    expect(Array.from(p.lineCarParks.subarray(p.lineCarParkStart[line]!, p.lineCarParkStart[line + 1]!))).toEqual([k]);
  });

  it('collects every bad reference with its field path', () => {
    const f = demo();
    f.carParks![3]!.entrances[0]!.linkId = 'L-X';
    f.carParks![2]!.entrances[0]!.positionM = 999;
    f.carParks![5]!.id = 'P1';
    f.signs![1]!.lines[0]!.carParkIds = ['P99'];
    f.signs![2]!.unitId = 100;
    f.signs![0]!.linkId = 'L-Y';
    const issues = issuesOf(f);
    expect(issues).toEqual(
      expect.arrayContaining([
        'carParks[3].entrances[0].linkId: no link "L-X"',
        'carParks[2].entrances[0].positionM: 999 m is beyond the end of link "L-I2-I3" (355 m long)',
        'carParks[5].id: duplicate car park id "P1" (first used at carParks[0].id)',
        'signs[1].lines[0].carParkIds[0]: no car park "P99"',
        "signs[2].unitId: unit id 100 is also signs[0]'s: each sign controller needs its own",
        'signs[0].linkId: no link "L-Y"',
        // P6 was renamed P1 above: the sign pointing to it now points nowhere.
        'signs[2].lines[1].carParkIds[0]: no car park "P6"',
      ]),
    );
    expect(issues.length).toBe(7);
  });

  it('sign endpoints and gate loops: checked with their paths, compiled to detector indices', () => {
    const f = demo();
    f.signs![0]!.endpoint = { host: '10.0.0.5', port: 502 };
    f.signs![1]!.endpoint = { host: '10.0.0.6', port: 502 };
    f.signs![1]!.unitId = 100; // another address: the same unit id is fine
    f.carParks![0]!.gates = [
      { detectorId: 'I1-EB-2-A', counts: 'entries' },
      { detectorId: 'I1-EB-3-A', counts: 'exits' },
    ];
    const p = compileParking(f, c);
    expect(Array.from(p.gateDetector)).toEqual([c.detectorIds.indexOf('I1-EB-2-A'), c.detectorIds.indexOf('I1-EB-3-A')]);
    expect(Array.from(p.gateCarPark)).toEqual([0, 0]);
    expect(Array.from(p.gateSign)).toEqual([1, -1]);

    const g = demo();
    g.signs![0]!.endpoint = { host: '10.0.0.5', port: 502 };
    g.signs![1]!.endpoint = { host: '10.0.0.5', port: 502 };
    g.signs![1]!.unitId = 100;
    delete g.signs![2]!.unitId;
    g.signs![2]!.endpoint = { host: 'sign-3', port: 70_000 };
    g.carParks![0]!.gates = [
      { detectorId: 'NOPE', counts: 'entries' },
      { detectorId: 'I1-EB-3-A', counts: 'exits' },
    ];
    g.carParks![1]!.gates = [{ detectorId: 'I1-EB-3-A', counts: 'entries' }];
    expect(issuesOf(g)[0]).toMatch(/^signs\[2\]\.endpoint\.port: /);
    g.signs![2]!.endpoint = { host: 'sign-3', port: 502 };
    expect(issuesOf(g)).toEqual([
      'carParks[0].gates[0].detectorId: no detector "NOPE" in the network file',
      'carParks[1].gates[0].detectorId: detector "I1-EB-3-A" is also carParks[0].gates[1]: one loop counts for one car park, one way',
      "signs[1].unitId: unit id 100 is also signs[0]'s at 10.0.0.5:502: each sign controller needs its own",
      "signs[2].unitId: is required with an endpoint (the sign controller's Modbus unit id)",
    ]);
  });

  it('refuses a file made for another network, and shape errors with the path', () => {
    const f = demo();
    f.network = 'Another City';
    expect(issuesOf(f)).toEqual(['network: refers to network "Another City", but the network file given is "Demo City: Renmin Rd corridor 人民路 (Hangzhou-like)"']);
    const g = demo();
    g.carParks![1]!.fees.perHour = -1;
    expect(issuesOf(g)[0]).toMatch(/^carParks\[1\]\.fees\.perHour: /);
    expect(() => compileParkingText('{', c, 'x.json')).toThrow(/x\.json: not valid JSON/);
  });

  it('opening hours in local time, overnight intervals, and the price of a stay', () => {
    const f = demo();
    f.carParks[0]!.openingHours = [
      { days: [1, 2, 3, 4, 5], open: '07:00', close: '22:00' },
      { days: [6], open: '22:00', close: '02:00' },
    ];
    const p = compileParking(f, c);
    // 2026-03-02 is a Monday; China is UTC+8.
    const local = (iso: string): number => Date.parse(`${iso}+08:00`);
    expect(isOpenAt(p, 0, local('2026-03-02T06:59:00'))).toBe(false);
    expect(isOpenAt(p, 0, local('2026-03-02T07:00:00'))).toBe(true);
    expect(isOpenAt(p, 0, local('2026-03-02T21:59:00'))).toBe(true);
    expect(isOpenAt(p, 0, local('2026-03-02T22:00:00'))).toBe(false);
    expect(isOpenAt(p, 0, local('2026-03-07T23:00:00'))).toBe(true); // Saturday night
    expect(isOpenAt(p, 0, local('2026-03-08T01:59:00'))).toBe(true); // into Sunday
    expect(isOpenAt(p, 0, local('2026-03-08T12:00:00'))).toBe(false);
    expect(isOpenAt(p, 1, local('2026-03-08T12:00:00'))).toBe(true); // 24/7
    // P1: 10 first hour, 5 per further hour, 60 a day at most.
    expect(priceOfStay(p, 0, 1800)).toBe(10);
    expect(priceOfStay(p, 0, 3600)).toBe(10);
    expect(priceOfStay(p, 0, 3601)).toBe(15);
    expect(priceOfStay(p, 0, 20 * 3600)).toBe(60);
    expect(priceOfStay(p, 0, 26 * 3600)).toBe(75);
  });
});
