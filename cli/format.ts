/**
 * Plain-text tables for the CLI: one block per intersection with its cycle,
 * phases and movement performance, then the detector faults that were
 * repaired. Kept apart from the command logic so the layout can be tested.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { TimingPlan } from '../engine/plan.js';
import type { FaultReport } from '../engine/counts/faults.js';
import type { CorridorPlan, CorridorSplit } from '../engine/corridor/corridorPlan.js';
import type { PlanTrial } from '../simulator/rankPlans.js';
import { MIN_HEALTHY_SHARE, type BlackoutFallback } from '../engine/counts/blackout.js';

function pad(s: string | number, width: number): string {
  return String(s).padStart(width);
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '∞';
}

export function formatPlanTable(c: CompiledNetwork, plans: readonly TimingPlan[], faults: FaultReport): string {
  const faultyByIntersection = new Map<string, string[]>();
  const detectorOwner = new Map<string, string>();
  for (const ix of c.network.intersections) for (const d of ix.detectors) detectorOwner.set(d.id, ix.id);
  for (const f of faults.faultyDetectors) {
    const owner = detectorOwner.get(f.detectorId) ?? '?';
    const kinds = Object.entries(f.faults)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}×${n}`)
      .join(' ');
    const list = faultyByIntersection.get(owner) ?? [];
    list.push(`${f.detectorId} (${kinds})`);
    faultyByIntersection.set(owner, list);
  }
  const lines: string[] = [];
  for (const plan of plans) {
    const ix = c.network.intersections.find((x) => x.id === plan.intersectionId);
    const name = ix?.name ? `  ${ix.name}` : '';
    lines.push(`■ ${plan.intersectionId}${name}`);
    lines.push(
      `  cycle ${plan.cycleS} s   offset ${plan.offsetS} s   Y ${fixed(plan.criticalFlowRatio, 3)}   L ${fixed(plan.lostTimeS, 1)} s   X ${fixed(plan.criticalVc, 2)}   delay ${fixed(plan.delaySPerVeh, 1)} s/veh   LOS ${plan.los}${plan.oversaturated ? '   OVERSATURATED' : ''}`,
    );
    lines.push(`  ${'phase'.padEnd(8)}${pad('start s', 9)}${pad('green s', 9)}${pad('yellow s', 9)}${pad('allRed s', 9)}${pad('min s', 7)}${pad('y', 7)}  movements`);
    const phaseFile = ix?.phasing.type === 'stages' ? ix.phasing.stages : ix?.phasing.phases;
    for (const ph of plan.phases) {
      const def = phaseFile?.find((p) => p.id === ph.id);
      const moves = def ? [...def.protected, ...def.permitted.map((m) => `(${m})`)].join(' ') : '';
      const ped = (def?.pedestrian ? ` +ped ${def.pedestrian.crosswalks.join('')}` : '') + (ph.onDemand ? '  [on demand: bus priority only]' : '');
      lines.push(`  ${ph.id.padEnd(8)}${pad(fixed(ph.startS, 1), 9)}${pad(fixed(ph.greenS, 1), 9)}${pad(fixed(ph.yellowS, 1), 9)}${pad(fixed(ph.allRedS, 1), 9)}${pad(fixed(ph.minGreenS, 1), 7)}${pad(fixed(ph.flowRatio, 3), 7)}  ${moves}${ped}`);
    }
    lines.push(`  ${'movement'.padEnd(8)}${pad('flow veh/h', 11)}${pad('cap veh/h', 10)}${pad('v/c', 6)}${pad('delay s/veh', 12)}${pad('LOS', 4)}${pad('queue95 m', 10)}${pad('storage m', 10)}`);
    for (const m of plan.movements) {
      lines.push(`  ${m.id.padEnd(8)}${pad(m.flowVehPerH, 11)}${pad(m.capacityVehPerH, 10)}${pad(fixed(m.vc, 2), 6)}${pad(fixed(m.delaySPerVeh, 1), 12)}${pad(m.los, 4)}${pad(m.queue95M === null ? '∞' : `${m.queue95OverCapacity ? '#' : ''}${m.queue95M}`, 10)}${pad(m.storageM ?? '—', 10)}${queueWarning(m)}`);
    }
    if (plan.movements.some((m) => m.queue95OverCapacity)) lines.push('  # 95th-percentile demand exceeds capacity: the queue shown is the maximum after two cycles and may be longer');
    const flagged = faultyByIntersection.get(plan.intersectionId);
    lines.push(`  flagged detectors: ${flagged ? flagged.join(', ') : 'none'}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** A flag after a movement whose 95th-percentile queue would not fit its storage, or has no bound at all. */
function queueWarning(m: TimingPlan['movements'][number]): string {
  if (m.queue95M === null) return '  demand above saturation flow: the queue grows without bound';
  if (m.storageM !== null && m.queue95M > m.storageM) return '  spills back past the upstream signal';
  return '';
}

/** One loud line per intersection planned on its historical profile because its detectors were mostly faulty. */
export function formatBlackoutWarnings(fallbacks: readonly BlackoutFallback[]): string {
  if (fallbacks.length === 0) return '';
  const head = `WARNING: detector blackout at ${fallbacks.length} intersection${fallbacks.length === 1 ? '' : 's'} (fewer than ${MIN_HEALTHY_SHARE * 100} % of detectors healthy): planned on historical demand, not live counts\n`;
  return head + fallbacks.map((f) => `WARNING: ${f.intersectionId} on fallback: ${f.reason}\n`).join('');
}

export function formatFaultSummary(faults: FaultReport): string {
  if (faults.substitutions.length === 0) return 'detector faults: none\n';
  const byMethod = new Map<string, number>();
  for (const s of faults.substitutions) byMethod.set(`${s.fault} → ${s.method}`, (byMethod.get(`${s.fault} → ${s.method}`) ?? 0) + 1);
  const parts = [...byMethod.entries()].map(([k, n]) => `${n} ${k}`);
  return `detector faults: ${faults.faultyDetectors.length} detectors flagged; ${faults.substitutions.length} interval values substituted (${parts.join(', ')})\n`;
}

export function formatCorridor(p: CorridorPlan): string {
  const lines: string[] = [];
  lines.push(`▶ corridor ${p.corridorId}${p.name ? `  ${p.name}` : ''}: common cycle ${p.cycleS} s, ${p.mode} band (direction weights ${p.weightOut} / ${p.weightIn})`);
  lines.push(`  ${'state'.padEnd(18)}${pad('band out', 10)}${pad('band in', 9)}${pad('delay', 8)}${pad('stops', 7)}`);
  const row = (name: string, s: CorridorPlan['refined']) => lines.push(`  ${name.padEnd(18)}${pad(fixed(s.bandOutS, 1), 10)}${pad(fixed(s.bandInS, 1), 9)}${pad(fixed(s.delaySPerVeh, 1), 8)}${pad(fixed(s.stopsPerVeh, 2), 7)}`);
  row('uncoordinated', p.uncoordinated);
  row('band optimized', p.bandOptimized);
  row('delay refined', p.refined);
  lines.push(`  attainability (band ÷ narrowest usable green): outbound ${Math.round(p.attainabilityOut * 100)} %, inbound ${Math.round(p.attainabilityIn * 100)} %; delay in s/veh and stops per vehicle on the arterial through movements (Robertson platoon model)`);
  lines.push(`  ${'signal'.padEnd(8)}${pad('cycle s', 11)}${pad('offset s', 9)}  ${'left turns'.padEnd(11)}${pad('out green s', 15)}${pad('in green s', 15)}${pad('queue clear s out/in', 22)}`);
  for (const m of p.intersections) {
    const win = (g: { startS: number; lengthS: number }) => `${fixed(g.startS, 1)}+${fixed(g.lengthS, 1)}`;
    lines.push(`  ${m.id.padEnd(8)}${pad(`${m.cycleS}${m.doubleCycled ? ' (half)' : ''}`, 11)}${pad(fixed(m.offsetS, 1), 9)}  ${m.leftTurnOrder.padEnd(11)}${pad(win(m.outGreen), 15)}${pad(win(m.inGreen), 15)}${pad(`${fixed(m.queueClearanceOutS, 1)}/${fixed(m.queueClearanceInS, 1)}`, 22)}`);
  }
  lines.push('  greens are start+length in s from the corridor\'s cycle zero; (half): the signal runs two cycles per corridor cycle; queue clear: time for the standing queue to discharge ahead of the band');
  lines.push(`  progression speed km/h: out ${p.progressionKph.out.join(' ')}; in ${p.progressionKph.in.join(' ')}`);
  lines.push('');
  return `${lines.join('\n')}\n`;
}

/** A corridor split into subsystems: its pieces (a piece of one signal runs isolated) and the reason for each cut. */
export function formatSplit(s: CorridorSplit): string {
  return `▶ corridor ${s.corridorId} runs as ${s.pieces.length} subsystems: ${splitPieces(s)}\n${s.reasons.map((r) => `  ${r}\n`).join('')}\n`;
}

/** "I1 (isolated) | I2–I4 | I5–I8": a split corridor's pieces on one line. */
export function splitPieces(s: CorridorSplit): string {
  return s.pieces.map((p) => (p.length === 1 ? `${p[0]} (isolated)` : `${p[0]}–${p[p.length - 1]}`)).join(' | ');
}

/** The shortlist a simulation check ran (simulator/rankPlans.ts), the kept plan starred. */
export function formatTrials(trials: readonly PlanTrial[], chosen: number): string {
  return trials.map((t, k) => `  ${k === chosen ? '*' : ' '} ${t.simulatedDelayS.toFixed(1).padStart(6)} s  ${t.label} (planner score ${t.plannerScore}${t.unfinishedShare !== undefined ? `; ${(t.unfinishedShare * 100).toFixed(1)} % of sampled trips unfinished` : ''})\n`).join('');
}

/** Progress of a simulation check on standard error: one line per plan, or one line rewritten in place on a terminal. */
export function checkProgress(err: (s: string) => void): (done: number, total: number, t: { label: string; simulatedDelayS: number }) => void {
  return (done, total, t) => {
    const line = `checking plans in greenwave's microsimulator: ${done}/${total} (${t.label}: ${t.simulatedDelayS.toFixed(1)} s)`;
    if (process.stderr.isTTY) err(`\r${line}\x1b[K${done === total ? '\n' : ''}`);
    else err(`${line}\n`);
  };
}
