/**
 * One fidelity case, as a child process of bench/fidelity/run.ts: build a
 * scenario of the family at a demand level, make a shortlist of signal
 * plans (the net's own program, SUMO's Webster at its own cycle and at four
 * fixed cycles, Webster + coordinator, and greenwave's `sumo plan` with its
 * shortlist checked in our simulator (`--check greenwave`) and without a
 * check), and run every plan in SUMO and in our simulator on the same routes.
 * Records the trust rule's verdict on the case (simulator/checkTrust.ts);
 * GREENWAVE_SUMO_CHECK adds `--check sumo`, scored in SUMO only, and
 * GREENWAVE_LEAN=1 runs greenwave's plans alone. Prints one JSON line.
 *
 *   node dist/bench/fidelity/one.js <scenario-id> <level> [smoke]
 *
 * Our simulator runs as `greenwave sim` does: lane changing along links (SUMO's
 * turn bays begun where SUMO begins them; GREENWAVE_TURN_BAYS=0 keeps them as
 * long as the link) and SUMO's default car emulated. GREENWAVE_LANE_CHANGE=0
 * and GREENWAVE_DRIVER=greenwave give the former settings (no lane changes,
 * greenwave's own drivers).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSumoScenario } from '../../simulator/sumo/scenario.js';
import { children, numAttr, attr, parseSumoXml } from '../../simulator/sumo/xml.js';
import { scenarioFamily, smokeFamily, type DemandLevel } from '../scenarios/family.js';
import { buildDemand, buildLoops, buildNetwork, checkTrustOf, greenwavePlan, recordLoops, sh, SUMO_HOME } from '../scenarios/build.js';
import { spearman, type FidelityCase, type PlanComparison } from './report.js';
import { childRun } from '../scenarios/pool.js';
import { GREENWAVE_DRIVER } from '../../simulator/vehicles.js';

/** Demand runs 20 minutes; throughput is counted 5 minutes after it ends; both simulators run on until everyone has arrived (at most 30 min more). */
const DEMAND_S = 1200;
const THROUGHPUT_AT_S = DEMAND_S + 300;
const END_S = DEMAND_S + 1800;
const FIXED_CYCLES_S = [40, 60, 90, 120] as const;
const SUMO_CHECK = process.env['GREENWAVE_SUMO_CHECK'];
/** GREENWAVE_LEAN=1: greenwave's plans only, scored in SUMO only (our simulator runs the net's program, for the trips both run): for comparing checks, not fidelity. */
const LEAN = process.env['GREENWAVE_LEAN'] === '1';
/** Scored in SUMO only: our simulator's ρ stays over the nine plans it has always been over. */
const SUMO_CHECK_PLAN = 'greenwave (SUMO check)';
/** `greenwave sim`'s defaults (lane changing, SUMO's default car emulated); GREENWAVE_LANE_CHANGE=0 and GREENWAVE_DRIVER=greenwave for the former ones. */
const LANE_OPTS = {
  laneChange: process.env['GREENWAVE_LANE_CHANGE'] !== '0',
  turnBays: process.env['GREENWAVE_TURN_BAYS'] !== '0',
  // Unset: SUMO's car with the routes' own dawdling, as `greenwave sim` runs it.
  ...(process.env['GREENWAVE_DRIVER'] === 'greenwave' ? { driver: GREENWAVE_DRIVER } : {}),
};

interface Trip {
  readonly arrivalS: number;
  readonly timeLossS: number;
}

function readTrips(xml: string): Map<string, Trip> {
  const doc = parseSumoXml(xml, 'tripinfo', ['tripinfo']);
  const out = new Map<string, Trip>();
  for (const t of children(doc['tripinfos'], 'tripinfo')) out.set(attr(t, 'id') ?? '', { arrivalS: numAttr(t, 'arrival') ?? Infinity, timeLossS: numAttr(t, 'timeLoss') ?? 0 });
  return out;
}

/** Per edge: total time loss (s) and vehicles that left it, from SUMO's edgeData. */
function readEdgeLoss(xml: string): Map<string, { timeLossS: number; left: number }> {
  const doc = parseSumoXml(xml, 'edgeData', ['interval', 'edge']);
  const out = new Map<string, { timeLossS: number; left: number }>();
  for (const iv of children(doc['meandata'], 'interval')) {
    for (const e of children(iv, 'edge')) {
      const id = attr(e, 'id') ?? '';
      const prev = out.get(id) ?? { timeLossS: 0, left: 0 };
      out.set(id, { timeLossS: prev.timeLossS + (numAttr(e, 'timeLoss') ?? 0), left: prev.left + (numAttr(e, 'left') ?? 0) });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const [id, level, smoke] = process.argv.slice(2);
  const spec = (smoke ? smokeFamily() : scenarioFamily()).find((s) => s.id === id);
  if (!spec || !level) throw new Error(`unknown scenario ${id}`);
  const dir = mkdtempSync(join(tmpdir(), `gw-fid-${id}-${level}-`));
  const result: FidelityCase = { id: spec.id, kind: spec.kind, level: level as DemandLevel, half: spec.half, signals: 0, trips: 0, simulated: 0, plans: [], signalDelay: [], spearman: Number.NaN };
  await childRun(dir, result, async () => {
    buildNetwork(spec, dir);
    buildDemand(spec, level as DemandLevel, dir, DEMAND_S);
    const built = buildLoops(spec, dir);
    Object.assign(result, { signals: built.mapping.intersections.length });
    // The shortlist.
    const plans: { name: string; adds: string[]; planWallS?: number }[] = [{ name: 'net program', adds: [] }];
    const webster = (out: string, extra: string[]) => sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCycleAdaptation.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-o', out, ...extra]);
    // SUMO's Webster at its own cycle, with the coordinator, and at four fixed cycles (not in the lean run).
    if (!LEAN) {
      webster('webster.add.xml', []);
      plans.push({ name: 'Webster', adds: ['webster.add.xml'] });
      sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCoordinator.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-a', 'webster.add.xml', '-o', 'coord.add.xml']);
      plans.push({ name: 'Webster+coord', adds: ['webster.add.xml', 'coord.add.xml'] });
      for (const c of FIXED_CYCLES_S) {
        webster(`webster${c}.add.xml`, ['--min-cycle', String(c), '--max-cycle', String(c)]);
        plans.push({ name: `Webster ${c} s`, adds: [`webster${c}.add.xml`] });
      }
    }
    // greenwave's own plans, from loops recorded under the net's program.
    recordLoops(dir, built, THROUGHPUT_AT_S, 1);
    // "greenwave" is the shortlist checked in our simulator (--check greenwave, the default until the trust rule), so ρ stays over the same nine plans.
    const variants: [string, string, string[]][] = [
      ['greenwave', 'gw.add.xml', ['--check', 'greenwave']],
      ['greenwave (no check)', 'gw0.add.xml', ['--alternatives', '0']],
    ];
    // Where the default `sumo plan` would check: our simulator where the trust rule trusts it, else SUMO (simulator/checkTrust.ts).
    const trust = checkTrustOf(dir, built);
    Object.assign(result, { trust: { shape: trust.shape, load: trust.load, maxLoad: trust.maxLoad, trusted: trust.trusted } });
    // GREENWAVE_SUMO_CHECK=1 (every case) or =untrusted (where the default would run it): also `--check sumo`, scored in SUMO only.
    if (SUMO_CHECK === '1' || (SUMO_CHECK === 'untrusted' && !trust.trusted)) variants.push([SUMO_CHECK_PLAN, 'gws.add.xml', ['--check', 'sumo']]);
    for (const [name, out, extra] of variants) {
      const t0 = performance.now();
      greenwavePlan(dir, built, out, extra);
      plans.push({ name, adds: [out], planWallS: (performance.now() - t0) / 1000 });
    }
    writeFileSync(join(dir, 'edgedata.add.xml'), `<additional>\n  <edgeData id="ed" file="edgedata.xml" begin="0" end="${END_S}"/>\n</additional>\n`);
    const netXml = readFileSync(join(dir, 'net.net.xml'), 'utf8');
    const routesXml = readFileSync(join(dir, 'routes.rou.xml'), 'utf8');
    let simulatedUnderNet: readonly string[] = [];
    for (const [k, p] of plans.entries()) {
      const first = k === 0;
      const t0 = performance.now();
      sh(dir, 'sumo', ['-n', 'net.net.xml', '-r', 'routes.rou.xml', '-a', [...p.adds, ...(first ? ['edgedata.add.xml'] : [])].join(','), '--end', String(END_S), '--seed', '1', '--no-step-log', '--time-to-teleport', '300', '--tripinfo-output', 'ti.xml']);
      const sumoWallS = (performance.now() - t0) / 1000;
      const sumoOnly = p.name === SUMO_CHECK_PLAN || (LEAN && !first);
      const ours = sumoOnly ? undefined : runSumoScenario(netXml, routesXml, { seed: 1, endS: END_S, snapshotS: THROUGHPUT_AT_S, planXml: p.adds.map((a) => readFileSync(join(dir, a), 'utf8')), ...LANE_OPTS });
      const sumo = readTrips(readFileSync(join(dir, 'ti.xml'), 'utf8'));
      // A plan scored in SUMO only is scored over the trips our simulator runs under the net's program (the first plan).
      const simulated = new Set(ours?.tripIds ?? simulatedUnderNet);
      let all = 0;
      let n = 0;
      let loss = 0;
      let byT = 0;
      for (const [tripId, t] of sumo) {
        all += t.timeLossS;
        if (!simulated.has(tripId)) continue;
        n++;
        loss += t.timeLossS;
        if (t.arrivalS <= THROUGHPUT_AT_S) byT++;
      }
      const row: PlanComparison = {
        plan: p.name,
        sumoTimeLossS: n > 0 ? loss / n : Number.NaN,
        sumoAllTimeLossS: sumo.size > 0 ? all / sumo.size : Number.NaN,
        oursTimeLossS: ours?.meanTimeLossS ?? Number.NaN,
        sumoFinished: n,
        oursFinished: ours?.metrics.vehiclesCompleted ?? Number.NaN,
        sumoThroughput: byT,
        oursThroughput: ours?.finishedBySnapshot ?? Number.NaN,
        sumoWallS,
        oursWallS: ours?.wallS ?? Number.NaN,
        ...(p.planWallS !== undefined ? { planWallS: p.planWallS } : {}),
      };
      result.plans.push(row);
      if (first && ours) {
        simulatedUnderNet = ours.tripIds;
        Object.assign(result, { trips: ours.tripsInFile, simulated: ours.tripsSimulated });
        // Delay per signal: SUMO's time loss on the signal's approach edges per vehicle leaving them, against our approach delay.
        const edges = readEdgeLoss(readFileSync(join(dir, 'edgedata.xml'), 'utf8'));
        for (const m of built.mapping.intersections) {
          let tl = 0;
          let left = 0;
          for (const ap of m.approaches) {
            const e = edges.get(ap.edgeId);
            if (e) {
              tl += e.timeLossS;
              left += e.left;
            }
          }
          const mine = ours.metrics.intersections.find((x) => x.id === m.intersectionId);
          result.signalDelay.push({ signal: m.intersectionId, sumoDelayS: left > 0 ? tl / left : Number.NaN, oursDelayS: mine?.meanDelayS ?? Number.NaN });
        }
      }
    }
    Object.assign(result, { spearman: spearman(result.plans.map((p) => p.oursTimeLossS), result.plans.map((p) => p.sumoTimeLossS)) });
  });
}

await main();
