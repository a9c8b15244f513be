/**
 * Builds one scenario of the family in a folder with SUMO's own tools:
 * the network (plain XML + netconvert for arterials, netgenerate for grids
 * and random networks; a static and an actuated variant), the demand for a
 * level (flows + duarouter for arterials, randomTrips for the others, one
 * hour), and the loop definitions of the scenario's id convention. Called by
 * bench/scenarios/one.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importSumoNet, type SumoMapping } from '../../simulator/sumo/importNet.js';
import { e1Additional } from '../../simulator/sumo/e1.js';
import { SUMO_HOME } from '../../simulator/sumo/sumoCheck.js';
import { run as cli } from '../../cli/main.js';
import type { CheckTrust } from '../../simulator/checkTrust.js';
import { LEVEL_FACTOR, type ArterialParams, type DemandLevel, type ScenarioSpec } from './family.js';

/** Where SUMO's tools are (one definition: simulator/sumo/sumoCheck.ts). */
export { SUMO_HOME };
/** Demand runs for an hour (20 min in the smoke test); loops keep recording while the network empties, and scoring runs on until most trips end. */
export interface Durations {
  readonly demandS: number;
  readonly recordEndS: number;
  readonly scoreEndS: number;
}
export const FULL: Durations = { demandS: 3600, recordEndS: 4500, scoreEndS: 5400 };
export const SMOKE: Durations = { demandS: 1200, recordEndS: 1800, scoreEndS: 2400 };

export function sh(dir: string, cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, SUMO_HOME }, maxBuffer: 256 << 20, timeout: 900_000 });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.error?.message}):\n${r.stderr}\n${r.stdout}`.slice(0, 4000));
  return `${r.stdout}\n${r.stderr}`;
}

export interface BuiltScenario {
  readonly dir: string;
  /** net.net.xml (static programs) and actuated.net.xml / delay.net.xml (SUMO's actuated and delay-based control). */
  readonly mapping: SumoMapping;
  /** The loop definitions file, and whether `sumo plan` needs it (`--detectors`): every convention but e1. */
  readonly loopDefs: string;
  readonly needsDetectors: boolean;
}

/** Signalises junctions like `--tls.guess` does, with a threshold (summed incoming lane speeds, m/s) low enough for one-lane streets. */
const TLS_GUESS = ['--tls.guess', 'true', '--tls.guess.threshold', '40', '--no-turnarounds', 'true'];

export function buildNetwork(spec: ScenarioSpec, dir: string): void {
  if (spec.arterial) {
    writeArterialPlain(spec.arterial, dir);
    for (const [out, type] of [['net.net.xml', 'static'], ['actuated.net.xml', 'actuated'], ['delay.net.xml', 'delay_based']] as const) {
      sh(dir, 'netconvert', ['-n', 'art.nod.xml', '-e', 'art.edg.xml', '--no-turnarounds', 'true', '--tls.default-type', type, '-o', out]);
    }
    return;
  }
  let args: string[];
  if (spec.grid) {
    const g = spec.grid;
    args = ['--grid', `--grid.x-number=${g.cols}`, `--grid.y-number=${g.rows}`, `--grid.length=${g.spacingM}`, '--grid.attach-length=150', `--default.lanenumber=${g.lanes}`, '--default.speed=13.89'];
  } else {
    const r = spec.rand!;
    args = ['--rand', `--rand.iterations=${r.iterations}`, '--rand.min-distance=120', '--rand.max-distance=400', `--default.lanenumber=${r.lanes}`, '--default.speed=13.89', `--seed=${spec.seed}`];
  }
  for (const [out, type] of [['net.net.xml', 'static'], ['actuated.net.xml', 'actuated'], ['delay.net.xml', 'delay_based']] as const) {
    sh(dir, 'netgenerate', [...args, ...TLS_GUESS, '--tls.default-type', type, '-o', out]);
  }
}

function writeArterialPlain(a: ArterialParams, dir: string): void {
  const xs = [0];
  for (const s of a.spacingM) xs.push(xs[xs.length - 1]! + s);
  const nodes = ['<nodes>', `  <node id="W" x="-300" y="0"/>`, `  <node id="E" x="${xs[xs.length - 1]! + 300}" y="0"/>`];
  xs.forEach((x, k) => {
    nodes.push(`  <node id="A${k}" x="${x}" y="0" type="traffic_light"/>`, `  <node id="N${k}" x="${x}" y="220"/>`, `  <node id="S${k}" x="${x}" y="-220"/>`);
  });
  nodes.push('</nodes>');
  const edges = ['<edges>'];
  const lanes = (n: number) => Array.from({ length: n }, (_, k) => k).join(' ');
  // An edge into a signal gets a left-turn bay: one more lane for its last 50 m.
  const arterial = (from: string, to: string, intoSignal: boolean) =>
    a.turnBays && intoSignal
      ? `  <edge id="${from}_${to}" from="${from}" to="${to}" numLanes="${a.lanes + 1}" speed="${a.speedMps}"><split pos="0" lanes="${lanes(a.lanes)}"/><split pos="-50" lanes="${lanes(a.lanes + 1)}"/></edge>`
      : `  <edge id="${from}_${to}" from="${from}" to="${to}" numLanes="${a.lanes}" speed="${a.speedMps}"/>`;
  const n = xs.length;
  edges.push(arterial('W', 'A0', true), arterial('A0', 'W', false), arterial('E', `A${n - 1}`, true), arterial(`A${n - 1}`, 'E', false));
  for (let k = 0; k + 1 < n; k++) edges.push(arterial(`A${k}`, `A${k + 1}`, true), arterial(`A${k + 1}`, `A${k}`, true));
  for (let k = 0; k < n; k++) {
    for (const side of ['N', 'S']) {
      edges.push(`  <edge id="${side}${k}_A${k}" from="${side}${k}" to="A${k}" numLanes="1" speed="13.89"/>`, `  <edge id="A${k}_${side}${k}" from="A${k}" to="${side}${k}" numLanes="1" speed="13.89"/>`);
    }
  }
  edges.push('</edges>');
  writeFileSync(join(dir, 'art.nod.xml'), nodes.join('\n'));
  writeFileSync(join(dir, 'art.edg.xml'), edges.join('\n'));
}

/** `demandS` of demand at `level` into routes.rou.xml. */
export function buildDemand(spec: ScenarioSpec, level: DemandLevel, dir: string, demandS = FULL.demandS): void {
  const f = LEVEL_FACTOR[level];
  if (spec.arterial) {
    const flows = arterialFlows(spec.arterial, f, 0, demandS);
    writeFileSync(join(dir, 'flows.xml'), `<routes>\n${flows.join('\n')}\n</routes>\n`);
    sh(dir, 'duarouter', ['-n', 'net.net.xml', '--route-files', 'flows.xml', '-o', 'routes.rou.xml', '--seed', String(spec.seed), '--no-step-log', '--ignore-errors']);
    return;
  }
  let tripsPerH: number;
  let minDistanceM: number;
  if (spec.grid) {
    tripsPerH = spec.grid.tripsPerHPerEntry * 2 * (spec.grid.cols + spec.grid.rows) * f;
    minDistanceM = 2 * spec.grid.spacingM;
  } else {
    tripsPerH = spec.rand!.tripsPerH * f;
    minDistanceM = 400;
  }
  const periodS = 3600 / tripsPerH;
  sh(dir, 'python3', [join(SUMO_HOME, 'tools/randomTrips.py'), '-n', 'net.net.xml', '-e', String(demandS), '-p', periodS.toFixed(4), '--fringe-factor', '10', '--min-distance', String(minDistanceM), '--seed', String(spec.seed), '-o', 'trips.xml', '-r', 'routes.rou.xml', '--validate']);
}

/**
 * The arterial's flows between `beginS` and `endS` at demand factor `f` (SUMO flow elements),
 * with the eastbound and westbound arterial traffic scaled apart (a shift between directions).
 * Ids carry `suffix` so several periods can share one file.
 */
export function arterialFlows(a: ArterialParams, f: number, beginS: number, endS: number, suffix = '', ebScale = 1, wbScale = 1): string[] {
  const n = a.signals;
  const flows: string[] = [];
  const flow = (id: string, from: string, to: string, vehPerH: number) => {
    if (vehPerH >= 1) flows.push(`  <flow id="${id}${suffix}" from="${from}" to="${to}" begin="${beginS}" end="${endS}" vehsPerHour="${vehPerH.toFixed(1)}" departLane="best" departSpeed="max"/>`);
  };
  const eb = a.throughVehPerHPerLane * a.lanes * f * ebScale;
  const wb = a.throughVehPerHPerLane * a.lanes * f * a.minorShare * wbScale;
  // 75 % of the arterial traffic runs end to end, the rest turns off onto the side streets.
  flow('eb', 'W_A0', `A${n - 1}_E`, eb * 0.75);
  flow('wb', `E_A${n - 1}`, 'A0_W', wb * 0.75);
  for (let k = 0; k < n; k++) {
    for (const side of ['N', 'S'] as const) {
      flow(`eb-${side}${k}`, 'W_A0', `A${k}_${side}${k}`, (eb * 0.25) / (2 * n));
      flow(`wb-${side}${k}`, `E_A${n - 1}`, `A${k}_${side}${k}`, (wb * 0.25) / (2 * n));
      const side0 = a.sideVehPerH[2 * k + (side === 'N' ? 0 : 1)]! * f;
      const across = side === 'N' ? 'S' : 'N';
      flow(`${side}${k}-x`, `${side}${k}_A${k}`, `A${k}_${across}${k}`, side0 * 0.5);
      flow(`${side}${k}-w`, `${side}${k}_A${k}`, 'A0_W', side0 * 0.25);
      flow(`${side}${k}-e`, `${side}${k}_A${k}`, `A${n - 1}_E`, side0 * 0.25);
    }
  }
  return flows;
}

/** Runs SUMO's own programs on the scenario with its loops, until `endS`: loops.xml gets the counts greenwave plans from. */
export function recordLoops(dir: string, built: BuiltScenario, endS: number, seed: number): void {
  sh(dir, 'sumo', ['-n', 'net.net.xml', '-r', 'routes.rou.xml', '-a', built.loopDefs, '--end', String(endS), '--seed', String(seed), '--no-step-log', '--time-to-teleport', '300']);
}

/** `greenwave sumo plan` on the recorded loops (with the loop definitions where the convention needs them), writing `out` in `dir`; returns what it printed. */
export function greenwavePlan(dir: string, built: BuiltScenario, out: string, extra: readonly string[] = []): string {
  let stdout = '';
  let stderr = '';
  const code = cli(['sumo', 'plan', '--net', join(dir, 'net.net.xml'), '--loops', join(dir, 'loops.xml'), ...(built.needsDetectors ? ['--detectors', join(dir, built.loopDefs)] : []), '--out', join(dir, out), ...extra], (x) => (stdout += x), (x) => (stderr += x));
  if (code !== 0) throw new Error(`greenwave sumo plan exited ${code}: ${stderr}`);
  return stdout;
}

/** Whether `sumo plan` trusts our simulator's check on this scenario (simulator/checkTrust.ts, from its JSON output), without running a check. */
export function checkTrustOf(dir: string, built: BuiltScenario): CheckTrust {
  const json = JSON.parse(greenwavePlan(dir, built, 'trust.add.xml', ['--check', 'none', '--json'])) as { check: { trust: CheckTrust } };
  return json.check.trust;
}

/** Loop definitions in the scenario's convention, recording to loops.xml. */
export function buildLoops(spec: ScenarioSpec, dir: string): BuiltScenario {
  const { mapping } = importSumoNet(readFileSync(join(dir, 'net.net.xml'), 'utf8'));
  // Every signalised incoming lane gets its loops, as a city equips them: the lanes greenwave models, then the
  // ones it does not (a fifth approach; after the others, so that the others' numbered ids stay).
  const lanes = [...mapping.intersections.flatMap((ix) => ix.lanes.map((l) => ({ ...l, tls: ix.tlsId }))), ...mapping.intersections.flatMap((ix) => (ix.unmodelledLanes ?? []).map((l) => ({ laneId: l.laneId, lengthM: l.lengthM, tls: ix.tlsId })))];
  let xml: string;
  if (spec.loops === 'e1') xml = e1Additional(mapping, { periodS: 900, file: 'loops.xml' });
  else {
    const lines = ['<additional>'];
    lanes.forEach((l, k) => {
      const stopLine = spec.loops === 'field' ? `DET-${k + 1}` : `${l.tls}/${l.laneId}/S`;
      lines.push(`  <e1Detector id="${stopLine}" lane="${l.laneId}" pos="${Math.max(0, l.lengthM - 6).toFixed(1)}" period="900" file="loops.xml"/>`);
      if (spec.loops === 'advance') lines.push(`  <inductionLoop id="${l.tls}/${l.laneId}/A" lane="${l.laneId}" pos="${(l.lengthM > 70 ? l.lengthM - 60 : Math.min(5, l.lengthM / 2)).toFixed(1)}" period="900" file="loops.xml"/>`);
    });
    lines.push('</additional>');
    xml = lines.join('\n');
  }
  writeFileSync(join(dir, 'loops.add.xml'), xml);
  return { dir, mapping, loopDefs: 'loops.add.xml', needsDetectors: spec.loops !== 'e1' };
}

export { greenwaveClearances, withClearances, type Clearance } from '../../simulator/sumo/clearances.js';
