/**
 * The diversion file against the demo city's links: the example file compiles, and every
 * problem of a bad one comes back with its field path, all at once.
 */
import { describe, expect, test } from 'vitest';
import type { GreenwaveError } from '../errors.js';
import { compileNetwork } from '../network/compile.js';
import { readFileSync } from 'node:fs';
import { loadNetwork } from '../network/validate.js';
import { compileDiversion, loadDiversion } from './diversionFile.js';
import { trafficLinks } from './links.js';

const c = compileNetwork(loadNetwork(readFileSync('examples/demo-city/network.json', 'utf8')));
const links = trafficLinks(c);
const route = (id: string, ids: string[]) => ({ id, nameZh: '路', nameEn: 'Rd', direction: 'ahead', links: ids });

function issuesOf(raw: unknown): string[] {
  try {
    compileDiversion(raw, links, c.network.name, 'diversion file', c);
  } catch (e: unknown) {
    return (e as GreenwaveError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

describe('diversion file', () => {
  test('the demo city example: two travel-time signs, no address', () => {
    const d = loadDiversion('examples/demo-city/diversion.json', links, c.network.name);
    expect(d.points.map((p) => [p.id, p.travelTimesOnly, p.routes.length])).toEqual([
      ['DP-I1-EB', true, 2],
      ['DP-I8-WB', true, 2],
    ]);
    expect(d.endpoints).toEqual([]);
  });

  test('every problem located', () => {
    const ep = { host: '10.0.0.9', port: 502 };
    expect(
      issuesOf({
        network: 'Other City',
        options: { onMarginS: 60, offMarginS: 60 },
        decisionPoints: [
          { id: 'A', signId: 'S1', unitId: 5, endpoint: ep, routes: [route('m', ['L-I1-I2']), route('m', ['L-I9-I1'])] },
          { id: 'A', signId: 'S1', unitId: 5, endpoint: ep, routes: [route('m', ['L-I1-I2'])] },
          { id: 'B', signId: 'S2', endpoint: ep, travelTimesOnly: true, routes: [route('m', ['I1-NB'])] },
        ],
      }),
    ).toEqual([
      'network: refers to network "Other City", but the network file given is "Demo City: Renmin Rd corridor 人民路 (Hangzhou-like)"',
      'options.offMarginS: must be below onMarginS (60), got 60',
      'decisionPoints[0].routes[1].id: duplicate route id "m"',
      'decisionPoints[0].routes[1].links[0]: no link "L-I9-I1" in the network (link ids: the network\'s links, and <intersection>-<approach> for approaches fed from outside; docs/traffic.md)',
      'decisionPoints[1].id: duplicate decision point id "A" (first used at decisionPoints[0].id)',
      "decisionPoints[1].signId: sign \"S1\" already shows decisionPoints[0]'s guidance: one decision point per sign",
      'decisionPoints[1].routes: needs a main route and at least one alternative (or "travelTimesOnly": true)',
      "decisionPoints[1].unitId: unit id 5 is also decisionPoints[0]'s at 10.0.0.9:502: each sign controller needs its own",
      "decisionPoints[2].unitId: is required with an endpoint (the sign controller's Modbus unit id)",
    ]);
    expect(issuesOf({ decisionPoints: [{ id: 'A', signId: 'S', routes: [{ ...route('m', []), colour: 'red' }] }], extra: 1 })).toEqual([
      'decisionPoints[0].routes[0].links: needs at least one link',
      'decisionPoints[0].routes[0]: unknown field "colour"',
      ': unknown field "extra"',
    ]);
  });

  test('a point\'s plan: movement ids as indices, checked against the network', () => {
    const two = [route('m', ['L-I2-I3']), route('a', ['L-I5-I6'])];
    const plan = { vehPerH: 300, from: [{ intersection: 'I3', movement: 'EBT' }], to: [{ intersection: 'I3', movement: 'EBL' }] };
    const d = compileDiversion({ decisionPoints: [{ id: 'A', signId: 'S', plan, routes: two }] }, links, c.network.name, 'diversion file', c);
    // EB is approach 2 (APPROACH_IDS NB, SB, EB, WB): through 2·4+1, left 2·4+0.
    expect(d.plans.get('A')).toEqual({ vehPerH: 300, from: [{ intersection: 'I3', movement: 9 }], to: [{ intersection: 'I3', movement: 8 }] });
    expect(
      issuesOf({
        decisionPoints: [
          { id: 'A', signId: 'S1', plan: { vehPerH: 300, from: [{ intersection: 'I99', movement: 'EBT' }], to: [{ intersection: 'I4', movement: 'NBU' }] }, routes: two },
          { id: 'B', signId: 'S2', travelTimesOnly: true, plan, routes: two },
          { id: 'C', signId: 'S3', plan: { vehPerH: -1, from: [{ intersection: 'I3', movement: 'EBX' }], to: [] }, routes: two },
        ],
      }),
    ).toEqual([
      'decisionPoints[2].plan.vehPerH: Too small: expected number to be >0',
      'decisionPoints[2].plan.from[0].movement: must be a movement id such as "EBT" or "NBL"',
      'decisionPoints[2].plan.to: needs at least one movement',
    ]);
    expect(
      issuesOf({
        decisionPoints: [
          { id: 'A', signId: 'S1', plan: { vehPerH: 300, from: [{ intersection: 'I99', movement: 'EBT' }], to: [{ intersection: 'I4', movement: 'NBU' }] }, routes: two },
          { id: 'B', signId: 'S2', travelTimesOnly: true, plan, routes: two },
        ],
      }),
    ).toEqual([
      'decisionPoints[0].plan.from[0].intersection: no intersection "I99" in the network',
      'decisionPoints[0].plan.to[0].movement: no lane of I4 serves NBU',
      'decisionPoints[1].plan: a travel-times-only point never diverts: it needs no plan',
    ]);
    // Without the network to check it against, a plan is refused (serve always gives it).
    expect(() => compileDiversion({ decisionPoints: [{ id: 'A', signId: 'S', plan, routes: two }] }, links, c.network.name)).toThrow(/plan\.from\[0\]: a plan needs the network/);
  });
});
