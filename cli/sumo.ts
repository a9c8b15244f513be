/**
 * `greenwave sumo …`: the SUMO round trip.
 *   greenwave sumo loops  --net X.net.xml --out loops.add.xml [--period 900] [--file e1.xml]
 *   greenwave sumo import --net X.net.xml --out network.json
 *   greenwave sumo plan   --net X.net.xml --loops e1.xml [--detectors loops.add.xml] --out plan.add.xml [--at HH:MM]
 *                         [--time-of-day] [--control auto|fixed|actuated|free]
 *                         [--min-cycle S] [--alternatives 7] [--check auto|greenwave|sumo|none]
 *                         [--program-id greenwave] [--resolution 1] [--network-out network.json] [--json]
 *   greenwave sumo compare: cli/sumoCompare.ts (asynchronous, through runAsync)
 * See docs/sumo.md for the recipe and the conventions.
 */
import { parseArgs } from 'node:util';
import { readText, writeText } from './io.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import type { CompiledNetwork } from '../engine/network/compile.js';
import { formatTimestamp } from '../engine/counts/csv.js';
import { compileImport, importSumoNet, type ImportResult } from '../simulator/sumo/importNet.js';
import { e1Additional } from '../simulator/sumo/e1.js';
import { DEFAULT_ALTERNATIVES, planFromLoops, planTimeOfDay, unmodelledLanesOf } from '../simulator/sumo/plan.js';
import { exportTimeOfDay, exportTlLogic } from '../simulator/sumo/exportTls.js';
import { exportActuated } from '../simulator/sumo/exportActuated.js';
import { actuatedPlan, corridorApproaches, CONTROL_COORDINATED, MAX_GREEN_FACTOR } from '../engine/timing/actuated.js';
import { matchLoops, readLoopDefinitions, type LoopTarget } from '../simulator/sumo/detectorDefs.js';
import { rankInSumo, sumoAvailable } from '../simulator/sumo/sumoCheck.js';
import type { NetworkPlan } from '../engine/plan.js';
import { checkProgress, formatTrials, splitPieces } from './format.js';
import { rankBySimulation } from '../simulator/rankPlans.js';
import { CHECK_WORDS, decideCheck, simulatorTrust, type CheckDecision, type NetworkShape } from '../simulator/checkTrust.js';
import { closest } from './help.js';

/** The variants a check in SUMO tries under `--control auto` (`rankInSumo`'s `variants`). */
const VARIANT_ACTUATED = 'actuated';
const VARIANT_FREE = 'fully actuated, uncoordinated';

export const SUMO_USAGE = `usage:
  greenwave sumo compare --net <x.net.xml> --routes <r.rou.xml> [--end S] [--seed 1] [--replan-every 900] [--json]
      The scenario run in SUMO under SUMO's controls and greenwave's (greenwave sumo compare --help).
  greenwave sumo loops --net <x.net.xml> --out <loops.add.xml> [--period 900] [--file e1.xml]
      Writes an additional file with a stop-line induction loop (e1_<lane>) on
      every incoming lane of every traffic light.
  greenwave sumo import --net <x.net.xml> --out <network.json>
      Converts the SUMO network to a greenwave network file and lists what it changed.
  greenwave sumo plan --net <x.net.xml> --loops <e1.xml> [--detectors <loops.add.xml>] --out <plan.add.xml>
                      [--at HH:MM | --time-of-day] [--control auto|fixed|actuated|free] [--min-cycle S]
                      [--alternatives 7] [--check auto|greenwave|sumo|none [--check-demand-s 3600]] [--program-id greenwave]
                      [--resolution 1] [--network-out network.json] [--json]
      Times every traffic light from the loop counts with corridor coordination,
      and writes the plans as SUMO programs (load with sumo -a). Demand: the
      peak hour of the counts (its mean flows; the peak-hour factor is shown), with
      the first interval (network filling) and a tail in which the network
      empties left out; or, with --at, the interval starting HH:MM after
      simulation time 0, predicted from the intervals before it (HH:MM may be
      the interval right after the file).
      --time-of-day: a day plan instead: the day of counts is cut into periods
      (night, AM peak, off-peak, PM peak, … from the demand vectors), each
      period is planned for its own peak hour, and --out gets one program per
      period plus a daily WAUT per signal that switches at cycle boundaries.
      --detectors: the additional file that defines the E1 loops (e1Detector or
      inductionLoop: id, lane, pos). With it loop ids may be anything, a lane
      may have several loops (the one nearest the stop line counts), and loops
      that match no signalised lane are listed. Without it ids must be
      e1_<laneId>, as \`greenwave sumo loops\` writes them.
      --control: auto (default): signals on a coordinated corridor run the
      plan fixed-time, the others fully actuated (min green, passage time,
      max green = the phase maximum), as isolated signals are run in the
      field. actuated: every signal actuated; those on a coordinated
      corridor actuated-coordinated (the plan's cycle and offset, fixed
      force-offs, side streets that gap out hand their time to the
      coordinated phases). free: every signal fully actuated on its own,
      uncoordinated (min green, passage time, max green = the phase maximum;
      the cycle floats), as at night or where coordination does not pay.
      fixed: every signal fixed-time. --time-of-day writes fixed-time
      programs.
      --min-cycle: shortest cycle allowed, s (default: 20 when the net has no
      pedestrian crossings, as SUMO's tlsCycleAdaptation.py; else 40).
      --alternatives: runners-up to the planner's best plan that are also tried
      on the counted demand before one is kept (0: none).
      --check: where the shortlist is tried. auto (default): in greenwave's
      microsimulator where bench/fidelity measured it within its bounds against
      SUMO (arterials and grids at light load; simulator/checkTrust.ts),
      elsewhere in SUMO if sumo and sumo-tools are installed, else not at all
      (the planner's own best); the output says which and why. greenwave: the
      microsimulator everywhere (warns where it is not trusted). sumo: SUMO
      itself (demand sampled from the counts with routeSampler.py; runs in
      parallel, progress on stderr). none: the planner's own best. In SUMO and
      with --control auto, the best plan is also tried with every signal
      actuated, and (except on arterials) with every signal fully actuated
      and uncoordinated, and kept so if it loses less time.
      --check-demand-s: when the check runs in SUMO, the seconds of demand each SUMO run
      simulates at the planned flows (default 3600, the peak hour; each run goes
      on 900 s more so the last trips finish). Shorter is faster and noisier.
`;

const ExitOk = 0;

function usage(message: string): GreenwaveError {
  return new GreenwaveError(ErrorCode.InvalidInput, `${message}\n\n${SUMO_USAGE}`);
}



function importNet(path: string, minCycleS?: number, timingStepS?: number): ImportResult {
  try {
    return importSumoNet(readText(path, 'SUMO network'), { name: path, ...(minCycleS !== undefined ? { minCycleS } : {}), ...(timingStepS !== undefined ? { timingStepS } : {}) });
  } catch (e: unknown) {
    if (e instanceof GreenwaveError && e.code === ErrorCode.InvalidInput) throw new GreenwaveError(e.code, `${path}: ${e.message}`, e.issues, { cause: e });
    throw e;
  }
}


function positiveNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw usage(`${flag} "${value}": expected a positive number`);
  return n;
}

/** Options of `greenwave sumo loops`. */
export const SUMO_LOOPS_OPTIONS = { net: { type: 'string' }, out: { type: 'string' }, period: { type: 'string' }, file: { type: 'string' } } as const;

function cmdLoops(args: string[], out: (s: string) => void): number {
  const { values } = parseArgs({ args, options: SUMO_LOOPS_OPTIONS });
  if (!values.net) throw usage('sumo loops: --net is required');
  if (!values.out) throw usage('sumo loops: --out is required');
  const imported = importNet(values.net);
  const periodS = positiveNumber(values.period, '--period', 900);
  writeText(values.out, e1Additional(imported.mapping, { periodS, file: values.file ?? 'e1.xml' }));
  const lanes = imported.mapping.intersections.reduce((n, m) => n + m.lanes.length, 0);
  out(`${lanes} induction loops at ${imported.mapping.intersections.length} traffic lights written to ${values.out} (period ${periodS} s, output ${values.file ?? 'e1.xml'})\n`);
  return ExitOk;
}

/** Options of `greenwave sumo import`. */
export const SUMO_IMPORT_OPTIONS = { net: { type: 'string' }, out: { type: 'string' } } as const;

function cmdImport(args: string[], out: (s: string) => void): number {
  const { values } = parseArgs({ args, options: SUMO_IMPORT_OPTIONS });
  if (!values.net) throw usage('sumo import: --net is required');
  if (!values.out) throw usage('sumo import: --out is required');
  const imported = importNet(values.net);
  writeText(values.out, `${JSON.stringify(imported.network, null, 2)}\n`);
  const n = imported.network;
  out(`${values.out}: ${n.intersections.length} intersections, ${n.links.length} links, ${n.corridors.length} corridors\n`);
  for (const note of imported.mapping.notes) out(`  note: ${note}\n`);
  return ExitOk;
}

/** Options of `greenwave sumo plan`. */
export const SUMO_PLAN_OPTIONS = {
      net: { type: 'string' },
      loops: { type: 'string' },
      detectors: { type: 'string' },
      out: { type: 'string' },
      at: { type: 'string' },
      'min-cycle': { type: 'string' },
      alternatives: { type: 'string' },
      check: { type: 'string' },
      'check-demand-s': { type: 'string' },
      'program-id': { type: 'string' },
      resolution: { type: 'string' },
      'network-out': { type: 'string' },
      json: { type: 'boolean', default: false },
      'time-of-day': { type: 'boolean', default: false },
      control: { type: 'string' },
    } as const;

function cmdPlan(args: string[], out: (s: string) => void, err: (s: string) => void): number {
  const { values } = parseArgs({
    args,
    options: SUMO_PLAN_OPTIONS,
  });
  if (!values.net) throw usage('sumo plan: --net is required');
  if (!values.loops) throw usage('sumo plan: --loops is required (SUMO induction-loop output; make the loops with `greenwave sumo loops`)');
  if (!values.out) throw usage('sumo plan: --out is required');
  const resolutionS = positiveNumber(values.resolution, '--resolution', 1);
  if (resolutionS > 1 || resolutionS < 0.1 || Math.abs(resolutionS * 10 - Math.round(resolutionS * 10)) > 1e-9) throw usage(`--resolution "${values.resolution}": expected a multiple of 0.1 s from 0.1 to 1 (SUMO's --step-length)`);
  const programId = values['program-id'] ?? 'greenwave';
  // Without --control, a check in SUMO also tries the best plan actuated and keeps whichever loses less time.
  const controls = ['auto', 'fixed', 'actuated', 'free'] as const;
  const control = controls.find((x) => x === (values.control ?? 'auto'));
  if (control === undefined) throw usage(`--control "${values.control}": expected ${controls.slice(0, -1).join(', ')} or ${controls.at(-1)}`);
  if (!/^[\w.-]+$/.test(programId)) throw usage(`--program-id "${programId}": use letters, digits, _ . -`);

  const minCycleS = values['min-cycle'] === undefined ? undefined : positiveNumber(values['min-cycle'], '--min-cycle', 20);
  if (minCycleS !== undefined && !(minCycleS >= 10 && minCycleS <= 600)) throw usage(`--min-cycle "${values['min-cycle']}": expected 10 to 600 s`);
  const alternatives = values.alternatives === undefined ? DEFAULT_ALTERNATIVES : Number(values.alternatives);
  if (!(Number.isInteger(alternatives) && alternatives >= 0 && alternatives <= 20)) throw usage(`--alternatives "${values.alternatives}": expected a whole number from 0 to 20`);
  const imported = importNet(values.net, minCycleS, resolutionS);
  const c0 = compileImport(imported);
  const loopMatch = values.detectors === undefined ? undefined : matchLoops(readLoopDefinitions(readText(values.detectors, 'detector definitions'), values.detectors), imported.mapping);
  const check = values.check ?? 'auto';
  if (check !== 'auto' && check !== 'greenwave' && check !== 'sumo' && check !== 'none') throw usage(`--check "${check}": expected auto, greenwave, sumo or none`);
  const checkDemandS = values['check-demand-s'] === undefined ? undefined : positiveNumber(values['check-demand-s'], '--check-demand-s', 3600);
  if (checkDemandS !== undefined && check !== 'sumo' && check !== 'auto') throw usage('--check-demand-s is for a check in SUMO (--check sumo, or auto where it runs in SUMO); the microsimulator check runs its own hour');
  if (checkDemandS !== undefined && !(checkDemandS >= 300 && checkDemandS <= 14_400)) throw usage(`--check-demand-s "${values['check-demand-s']}": expected 300 to 14400 s`);
  if (check === 'sumo' && !sumoAvailable()) throw new GreenwaveError(ErrorCode.InvalidInput, '--check sumo: `sumo` or SUMO\'s tools/routeSampler.py cannot be run here (install sumo and sumo-tools, set SUMO_HOME)');
  if (values['time-of-day']) {
    if (values.at !== undefined) throw usage('sumo plan: --at and --time-of-day exclude each other');
    if (control === 'actuated' || control === 'free') throw usage(`sumo plan: --time-of-day writes fixed-time programs; --control ${control} is for one period`);
    if (check === 'sumo') throw usage('sumo plan: --check sumo checks the plan of one period, not a day plan (--time-of-day)');
    return writeDayPlan(c0, imported, readText(values.loops, 'loop output'), values.loops, values.out, { programId, resolutionS, json: values.json, ...(loopMatch ? { loops: loopMatch.targets } : {}) }, out);
  }
  // The variant a check in SUMO kept, if it kept one (see `variants` below).
  let sumoChose: string | undefined;
  // Every signal actuated, or the default control: fixed time where a corridor coordinates the signal, fully
  // actuated elsewhere. `coordinate` false: no signal coordinated, every one fully actuated on its own.
  const writeActuated =
    (fixedWhereCoordinated: boolean, coordinate = true) =>
    (cc: CompiledNetwork, buffer: NetworkPlan['buffer'], corridors: NetworkPlan['corridors'], id = programId) =>
      exportActuated(cc, buffer, actuatedPlan(cc, buffer, corridorApproaches(coordinate ? corridors : [])), imported.mapping, { programId: id, resolutionS, fixedWhereCoordinated });
  // Under the default control a check in SUMO also runs the planner's best with every signal actuated (coordinated
  // ones actuated-coordinated) and, except on arterials, with every signal fully actuated and uncoordinated: which
  // control pays is its call. Not on arterials: on the scenario bench's tuning half the check kept the uncoordinated
  // variant in four arterial cases and it did worse in three of them in the scenario (on grids and irregular networks
  // it kept it in eight and all eight did better); with the sample held to turning counts (sumoCheck.ts) it kept it
  // in four arterial cases again, two better and two worse (docs/benchmarks.md).
  const variantsFor = (shape: NetworkShape) => [{ name: VARIANT_ACTUATED, write: writeActuated(false) }, ...(shape === 'arterial' ? [] : [{ name: VARIANT_FREE, write: writeActuated(false, false) }])];
  // Where the shortlist was checked, and why (decided once the planned demand is known).
  let decision: CheckDecision = { asked: check, used: 'none', reason: 'no check was run' };
  const rank = (cc: CompiledNetwork, shortlisted: NetworkPlan) => {
    const trust = simulatorTrust(imported.network, shortlisted.plans);
    // --alternatives 0 asks for the planner's best alone: nothing to check unless --check names a simulator.
    decision = alternatives === 0 && check === 'auto' ? { asked: check, used: 'none', reason: '--alternatives 0: no runners-up to check', trust } : decideCheck(check, trust, check === 'auto' && !trust.trusted ? sumoAvailable() : false);
    if (decision.used === 'greenwave' && !trust.trusted) err(`warning: --check greenwave: our simulator is not trusted to rank plans here: ${trust.reason}\n`);
    if (decision.used === 'sumo') {
      const r = rankInSumo(cc, shortlisted, { netPath: values.net!, mapping: imported.mapping, resolutionS, progress: (line) => err(`${line}\n`), ...(checkDemandS !== undefined ? { durationS: checkDemandS } : {}), ...(control === 'auto' ? { variants: variantsFor(trust.shape), exportPlan: writeActuated(true) } : {}) });
      sumoChose = r.variant;
      if (r.inconclusive) decision = { ...decision, reason: `${decision.reason}; the check was inconclusive: ${r.inconclusive}`, inconclusive: r.inconclusive };
      return r;
    }
    // The microsimulator check, with a line per plan tried on standard error (rewritten in place on a terminal).
    if (decision.used === 'greenwave') return rankBySimulation(cc, shortlisted, { progress: checkProgress(err) });
    return { plan: shortlisted, trials: [], chosen: 0 };
  };
  const { plan, faults, forInterval, basis, intervalS, trials, chosen, leftOut, unmatchedLoops, leftTurns, compiled } = planFromLoops(c0, readText(values.loops, 'loop output'), values.loops, values.at, {
    alternatives,
    rank,
    unmodelled: unmodelledLanesOf(imported.mapping),
    ...(loopMatch ? { loops: loopMatch.targets, unmodelledLoops: loopMatch.unmodelledTargets } : {}),
  });
  // A check with nothing to choose from simulated nothing: say so.
  if (trials.length === 0 && decision.used !== 'none') decision = { ...decision, reason: `${decision.reason}; the planner found no other plan to try for this demand, so nothing was simulated` };
  const unmatched = [...new Set([...(loopMatch?.unmatched ?? []), ...unmatchedLoops])];
  const c = compiled;
  const cleaned = faults.cleaned;
  const actuated = control !== 'fixed' ? actuatedPlan(c, plan.buffer, corridorApproaches(sumoChose === VARIANT_FREE || control === 'free' ? [] : plan.corridors)) : undefined;
  // auto: coordinated signals fixed time, the rest fully actuated, unless the check in SUMO kept a variant.
  const mixed = control === 'auto' && sumoChose === undefined;
  writeText(values.out, actuated ? exportActuated(c, plan.buffer, actuated, imported.mapping, { programId, resolutionS, fixedWhereCoordinated: mixed }) : exportTlLogic(c, plan.buffer, imported.mapping, { programId, resolutionS }));
  if (values['network-out']) writeText(values['network-out'], `${JSON.stringify(imported.network, null, 2)}\n`);

  const rows = imported.mapping.intersections.map((m) => {
    const i = c.intersectionIds.indexOf(m.intersectionId);
    const stages: { id: string; greenS: number }[] = [];
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) stages.push({ id: c.phaseIds[p]!, greenS: plan.buffer.phaseGreenS[p]! });
    const controlMode = !actuated ? 'fixed' : actuated.mode[i] === CONTROL_COORDINATED ? (mixed ? 'fixed' : 'actuated-coordinated') : 'fully actuated';
    return { tls: m.tlsId, intersection: m.intersectionId, control: controlMode, cycleS: plan.buffer.cycleS[i]!, offsetS: plan.buffer.offsetS[i]!, stages };
  });
  if (values.json) {
    out(`${JSON.stringify({ forInterval, basis, intervalS, leftOut, unmatchedLoops: unmatched, check: decision, signals: rows, corridors: plan.corridors.map((x) => ({ id: x.corridorId, cycleS: x.cycleS, bandOutS: x.refined.bandOutS, bandInS: x.refined.bandInS, system: x.system, ...(x.partOf ? { partOf: x.partOf } : {}) })), splits: plan.splits, leftTurns, trials: trials.map((t, k) => ({ ...t, chosen: k === chosen })), substitutions: faults.substitutions.length, notes: imported.mapping.notes }, null, 2)}\n`);
    return ExitOk;
  }
  out(`greenwave sumo plan — ${values.net}\n`);
  const day0 = formatTimestamp(cleaned.intervalStartMs[0]! - (cleaned.intervalStartMs[0]! % 86_400_000));
  if (values.at === undefined) out(`demand: ${basis} (simulation time 0 = ${day0})\n`);
  else out(`demand: ${basis} for the ${cleaned.intervalS / 60}-minute interval starting ${forInterval} (simulation time 0 = ${day0})\n`);
  if (leftOut.length > 0) out(`intervals left out: ${leftOut.map((x) => `${x.interval.slice(11, 16)} ${x.reason}`).join(', ')}\n`);
  if (loopMatch) out(`loops: ${loopMatch.targets.size} matched to signalised lanes\n`);
  if (unmatched.length > 0) out(`loops matching no signalised lane (ignored): ${unmatched.length}: ${unmatched.slice(0, 20).join(', ')}${unmatched.length > 20 ? ', …' : ''}\n`);
  if (faults.substitutions.length > 0) out(`counts: ${faults.substitutions.length} faulty or missing loop values substituted\n`);
  const nFree = rows.filter((r) => r.control === 'fully actuated').length;
  if (actuated && mixed) out(`control: ${rows.length - nFree} signals a corridor coordinates fixed-time, ${nFree} fully actuated (max green = the phase maximum)\n`);
  else if (control === 'free') out(`control: fully actuated — every signal on its own, uncoordinated (its cycle floats); max green = the phase maximum\n`);
  else if (actuated) out(`control: actuated — ${rows.filter((r) => r.control === 'actuated-coordinated').length} signals actuated-coordinated (fixed force-offs, slack to the coordinated phases), ${nFree} fully actuated; max green = ${MAX_GREEN_FACTOR} × planned green where coordinated, the phase maximum where fully actuated\n`);
  out(`\n  tls          cycle  offset  ${actuated ? 'control                ' : ''}stage greens (s)\n`);
  for (const r of rows) {
    out(`  ${r.tls.padEnd(12)} ${r.cycleS.toFixed(0).padStart(5)}  ${r.offsetS.toFixed(1).padStart(6)}  ${actuated ? r.control.padEnd(23) : ''}${r.stages.map((s) => `${s.id} ${s.greenS.toFixed(1)}`).join(', ')}\n`);
  }
  const omitted = leftTurns.filter((d) => d.omitted);
  if (leftTurns.length > 0) out(`left-turn phases: ${omitted.length} of ${leftTurns.length} omitted (lefts permitted in the through phase; not warranted by the counts)${omitted.length > 0 ? `: ${omitted.slice(0, 12).map((d) => `${d.intersectionId}/${d.phaseId}`).join(', ')}${omitted.length > 12 ? ', …' : ''}` : ''}\n`);
  for (const d of leftTurns.filter((x) => !x.omitted).slice(0, 12)) out(`  kept ${d.intersectionId}/${d.phaseId}: ${d.reason}\n`);
  for (const sp of plan.splits) out(`corridor ${sp.corridorId} runs as ${sp.pieces.length} subsystems: ${splitPieces(sp)}; ${sp.reasons.join('; ')}\n`);
  for (const cp of plan.corridors) out(`corridor ${cp.corridorId}: cycle ${cp.cycleS} s, band out ${cp.refined.bandOutS.toFixed(1)} s / in ${cp.refined.bandInS.toFixed(1)} s${cp.system ? `, shifted ${cp.system.shiftS} s in a system with ${cp.system.corridorIds.length - 1} crossing corridor(s)` : ''}\n`);
  out(`\nsimulation check: ${CHECK_WORDS[decision.used]} — ${decision.reason}\n`);
  if (trials.length > 0) {
    out(decision.used === 'sumo' ? '\nshortlist checked in SUMO (mean time loss per vehicle, demand sampled from the counts with routeSampler.py):\n' : '\nshortlist checked in greenwave\'s microsimulator (mean delay per trip, counted demand):\n');
    out(formatTrials(trials, chosen));
  }
  if (imported.mapping.notes.length > 0) out(`${imported.mapping.notes.length} import note(s); see \`greenwave sumo import\`\n`);
  out(`\n${actuated ? 'actuated ' : ''}programs "${programId}" for ${rows.length} traffic lights written to ${values.out} (load with sumo -a ${values.out})\n`);
  return ExitOk;
}

function hhmm(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

function writeDayPlan(c: CompiledNetwork, imported: ImportResult, loopsXml: string, source: string, outPath: string, o: { programId: string; resolutionS: number; json: boolean; loops?: ReadonlyMap<string, LoopTarget> }, out: (s: string) => void): number {
  const { periods, faults } = planTimeOfDay(c, loopsXml, source, o.loops ? { loops: o.loops } : {});
  const programs = periods.map((p) => ({ id: p.period.id, startS: p.period.startMin * 60, buffer: p.plan.buffer }));
  writeText(outPath, exportTimeOfDay(c, programs, imported.mapping, { programId: o.programId, resolutionS: o.resolutionS }));
  const rows = periods.map((p) => {
    const cycles = Array.from(p.plan.buffer.cycleS);
    return { id: p.period.id, label: p.period.label, start: hhmm(p.period.startMin), end: hhmm(p.period.endMin), peakHour: p.peakHour, programId: `${o.programId}-${p.period.id}`, minCycleS: Math.min(...cycles), maxCycleS: Math.max(...cycles), meanVehPerInterval: Math.round(p.period.meanTotalVeh) };
  });
  if (o.json) {
    out(`${JSON.stringify({ periods: rows, substitutions: faults.substitutions.length }, null, 2)}\n`);
    return ExitOk;
  }
  out(`greenwave sumo plan --time-of-day — ${periods.length} periods from the loop counts\n\n`);
  out('  period        from   to     planned for   cycles (s)  program\n');
  for (const r of rows) out(`  ${r.label.padEnd(12)}  ${r.start}  ${r.end}  ${r.peakHour}   ${`${r.minCycleS}–${r.maxCycleS}`.padStart(9)}  ${r.programId}\n`);
  if (faults.substitutions.length > 0) out(`counts: ${faults.substitutions.length} faulty or missing loop values substituted\n`);
  out(`\n${rows.length} programs per signal and a daily WAUT switching them at cycle boundaries written to ${outPath} (load with sumo -a ${outPath})\n`);
  return ExitOk;
}

export function cmdSumo(args: string[], out: (s: string) => void, err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'plan':
      return cmdPlan(rest, out, err);
    case 'loops':
      return cmdLoops(rest, out);
    case 'import':
      return cmdImport(rest, out);
    case 'compare':
      // It waits for SUMO over TraCI: the executable runs it through runAsync (cli/sumoCompare.ts).
      throw new GreenwaveError(ErrorCode.InvalidInput, 'sumo compare runs asynchronously: call it through the greenwave executable (runAsync)');
    case undefined:
      throw usage('sumo: expected a subcommand (plan, loops, import, compare)');
    default: {
      const hit = closest(sub, ['plan', 'loops', 'import', 'compare']);
      throw usage(`sumo: unknown subcommand "${sub}"${hit ? ` (did you mean "${hit}"?)` : ''}`);
    }
  }
}
