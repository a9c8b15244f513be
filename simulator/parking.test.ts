import { describe, expect, it } from 'vitest';
import { compileNetwork } from '../engine/network/compile.js';
import { loadNetwork } from '../engine/network/validate.js';
import { compileParking } from '../engine/parking/load.js';
import { RoadGraph } from '../engine/parking/roads.js';
import { planNetwork } from '../engine/plan.js';
import { MOVEMENT_COUNT } from '../engine/network/geometry.js';
import { gridNetworkJson, gridVolumes } from '../test/fixtures/gridNetwork.js';
import { Simulation } from './simulation.js';
import { SearchPolicy } from './parkingChoice.js';
import type { ParkingDriver, ParkingSearchScenario } from './parkingSearch.js';

// A 3 × 3 grid (200 m blocks, through and right turns only); car park A on the link into the
// centre from the west, 100 m along; car park B on the link on from the centre to the east,
// 150 m along. Drivers set off 20 m up the northbound link into R1C0 and are bound for A.
const json = gridNetworkJson({ rows: 3, cols: 3, colSpacingM: 200, rowSpacingM: 200 }) as { name: string; links: { id: string; from: string; to: string }[] };
const c = compileNetwork(loadNetwork(JSON.stringify(json)));
const plan = planNetwork(c, gridVolumes(c, 300, 300), 900, { coordinate: false }).buffer;
const roads = new RoadGraph(c);
roads.setDelays(plan);
const linkIndex = (id: string): number => json.links.findIndex((l) => l.id === id);
const A_LINK = 'R1C0-R1C1';
const B_LINK = 'R1C1-R1C2';
const pos = (link: string, m: number) => {
  const l = json.links[linkIndex(link)]!;
  const ix = (id: string) => (c.network.intersections.find((x) => x.id === id) ?? c.network.intersections[0]!).position;
  const a = ix(l.from);
  const b = ix(l.to);
  return { lon: a.lon + ((b.lon - a.lon) * m) / 200, lat: a.lat + ((b.lat - a.lat) * m) / 200 };
};
const parking = compileParking(
  {
    formatVersion: 1,
    network: json.name,
    utcOffsetMin: 480,
    signs: [],
    carParks: [
      { id: 'A', nameZh: '甲', nameEn: 'A', kind: 'garage', position: pos(A_LINK, 100), entrances: [{ id: 'A-E', linkId: A_LINK, positionM: 100 }], capacityByType: { general: 1 }, fees: { currency: 'CNY', firstHour: 5, perHour: 2 }, openingHours: '24/7' },
      { id: 'B', nameZh: '乙', nameEn: 'B', kind: 'garage', position: pos(B_LINK, 150), entrances: [{ id: 'B-E', linkId: B_LINK, positionM: 150 }], capacityByType: { general: 3 }, fees: { currency: 'CNY', firstHour: 5, perHour: 2 }, openingHours: '24/7' },
    ],
  },
  c,
);
const dest = pos(A_LINK, 100);

/** `n` drivers 20 s apart, bound for A (full from the start: one car that stays), B empty. */
function scenario(n: number, origin = { link: linkIndex('R0C0-R1C0'), positionM: 20 }, to = dest): ParkingSearchScenario {
  const drivers: ParkingDriver[] = Array.from({ length: n }, (_, i) => ({
    departS: 5 + 20 * i,
    origin,
    destLon: to.lon,
    destLat: to.lat,
    dwellS: 7200,
    complianceDraw: i / n,
  }));
  return { parking, roads, drivers, measureFromS: 0, measureToS: Infinity, initialStart: Uint32Array.from([0, 1, 1]), initialLeaveS: Float64Array.from([1e6]), background: [], startMs: Date.parse('2026-03-02T10:00:00+08:00') };
}

const traffic = new Float64Array(c.intersectionCount * MOVEMENT_COUNT).fill(60);

function run(seed: number, n: number, compliance: number, sc = scenario(n)) {
  const sim = new Simulation(c, plan, { movementFlowVehPerH: traffic }, { seed });
  const park = sim.setParking(sc, new SearchPolicy(sc, { compliance, bookGuided: true }));
  let maxOver = Number.NEGATIVE_INFINITY;
  while (!park.measuredDone && sim.tS < 1200) {
    sim.step();
    for (let k = 0; k < 2; k++) maxOver = Math.max(maxOver, park.occupied[k]! - parking.capacity[k]!);
  }
  return { r: park.result(sim.tS), firstDriveS: park.firstDriveS.slice(), maxOver, occupied: park.occupied.slice(), metrics: sim.metrics(), turnArounds: park.turnArounds };
}

describe('parking search in the microsimulator', () => {
  it('a driver whose car park is full cruises on to the other and parks there', () => {
    const { r, occupied, maxOver } = run(1, 1, 0);
    expect(r.parked).toBe(1);
    // From A's entrance (100 m along its link) through the centre to B's (150 m along the next): 250 m.
    expect(r.meanCruiseM).toBeCloseTo(250, 6);
    expect(r.meanCruiseS).toBeGreaterThan(250 / 14);
    // 180 m up to R1C0, right, 100 m to A.
    expect(r.meanFirstDriveM).toBeCloseTo(280, 6);
    expect(Array.from(occupied)).toEqual([1, 1]);
    expect(maxOver).toBeLessThanOrEqual(0);
  });

  it('a guided driver is sent straight to the car park with space', () => {
    const { r } = run(1, 1, 1);
    expect(r.compliant).toBe(1);
    expect(r.parked).toBe(1);
    expect(r.meanCruiseS).toBe(0);
    expect(r.meanFirstDriveM).toBeCloseTo(180 + 200 + 150, 6);
  });

  it('a car on a link whose every turn leaves the network turns round off the edge and comes back', () => {
    // Eastbound into the south-east corner: straight on and right both leave. B (the nearest to
    // its destination) is reached by going out east, back on the 250 m approach from the east,
    // west to R0C1, right, right again: 180 + 250 + 200 + 200 + 150 m.
    const { r, turnArounds } = run(1, 1, 0, scenario(1, { link: linkIndex('R0C1-R0C2'), positionM: 20 }, pos(B_LINK, 150)));
    expect(r.parked).toBe(1);
    expect(r.meanCruiseS).toBe(0);
    expect(turnArounds).toBe(1);
    expect(r.meanFirstDriveM).toBeCloseTo(980, 6);
    expect(r.meanFirstDriveS).toBeGreaterThan(120 + 980 / 14);
  });

  it('never fills a car park past capacity, is deterministic by seed, and leaves other traffic as it was without drivers', () => {
    const a = run(3, 6, 0);
    // B takes 3: the other 3 find both full and give up.
    expect(a.r.parked).toBe(3);
    expect(a.r.failed).toBe(3);
    expect(a.maxOver).toBeLessThanOrEqual(0);
    expect(Array.from(a.occupied)).toEqual([1, 3]);
    expect(run(3, 6, 0)).toEqual(a);
    expect(Array.from(run(4, 6, 0).firstDriveS)).not.toEqual(Array.from(a.firstDriveS));
    // Parking attached but nobody searching: the general traffic runs bit for bit as without it.
    const plain = new Simulation(c, plan, { movementFlowVehPerH: traffic }, { seed: 3 });
    const withPark = new Simulation(c, plan, { movementFlowVehPerH: traffic }, { seed: 3 });
    const sc = scenario(0);
    withPark.setParking(sc, new SearchPolicy(sc, { compliance: 0 }));
    plain.runUntil(600);
    withPark.runUntil(600);
    expect(withPark.metrics()).toEqual(plain.metrics());
    expect(withPark.metrics().vehiclesEntered).toBeGreaterThan(50);
  });
});

// The acceptance in the microsimulator, over the 5 held-out seeds of bench/parking/micro (10 runs,
// about 80 s of CPU; 3.7 min wall at load 10 on 2 cores): opt-in, too heavy for `npm test`. GREENWAVE_PARKING_MICRO=1 npx vitest run simulator/parking.test.ts
describe.runIf(process.env['GREENWAVE_PARKING_MICRO'] === '1')('parking search in the microsimulator, held-out seeds (opt-in)', () => {
  it('guidance at compliance 0.6 (recommendations booked) cuts mean cruising time by at least 30 % over the 5 held-out seeds', async () => {
    const { runMicro } = await import('../bench/parking/micro.js');
    const { HELDOUT_SEEDS } = await import('../test/fixtures/parkingSearchCity.js');
    let none = 0;
    let guided = 0;
    for (const seed of HELDOUT_SEEDS) {
      const a = runMicro(seed, { label: 'none', compliance: 0, bookGuided: false }).result;
      const g = runMicro(seed, { label: 'booked 0.6', compliance: 0.6, bookGuided: true }).result;
      expect(g.measured).toBe(a.measured);
      expect(a.unfinished + g.unfinished).toBe(0);
      expect(a.cruisedShare).toBeGreaterThan(0.2);
      none += a.meanCruiseS * a.measured;
      guided += g.meanCruiseS * g.measured;
    }
    expect(1 - guided / none).toBeGreaterThanOrEqual(0.3);
  }, 600_000);
});
