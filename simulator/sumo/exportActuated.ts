/**
 * Writes greenwave plans run actuated (engine/timing/actuated.ts) as SUMO
 * `actuated` traffic-light programs: the same time slices as the static
 * export (exportTls.ts `tlsSlices`), with minDur and maxDur on every green
 * slice and the plan's passage time as SUMO's max-gap. SUMO places its own
 * detectors on the incoming lanes (detector-gap 2 s upstream of the stop line).
 * Called by `greenwave sumo plan --control actuated` and the scenario bench.
 *
 * A slice is timed from the phases green in it: minDur = its planned length ×
 * the largest min/planned green ratio of those phases, maxDur = its length ×
 * the smallest max/planned ratio, so a phase's slices together never run less
 * than its minimum green or more than its maximum green.
 *
 * Fully actuated signals (CONTROL_FREE): that is all; the cycle floats. With
 * `fixedWhereCoordinated` (`sumo plan`'s default control) the coordinated signals are written as
 * the static export writes them and only these run actuated.
 *
 * Actuated-coordinated signals (CONTROL_COORDINATED) use SUMO's coordinated
 * mode (param coordinated=true, cycleTime; time in cycle = (t − offset) mod
 * cycle): every non-coordinated green slice has latestEnd = its planned end
 * (a fixed force-off), and the coordinated slices have earliestEnd = latestEnd
 * = their planned end (held to the yield point). The program is rotated to
 * start right after the yield point, so the last coordinated slice ends at
 * the cycle wrap (earliestEnd = latestEnd = cycleTime): a coordinated phase
 * that starts early because a side street gapped out (early return) then
 * counts its hold in the same cycle. Tried against SUMO 1.15 before choosing:
 * with the yield point inside the cycle, an early start late in the previous
 * cycle let the coordinated green end at its minimum, one cycle in two
 * (exportActuated.test.ts checks the switch times).
 *
 * Detectors are SUMO's own (one per lane, detector-gap upstream). Param
 * jam-threshold: a vehicle standing on a detector longer than this no longer
 * extends the green, so a lane that cannot move (a queue backed up from
 * downstream) does not hold its green to the maximum. SUMO counts the standing
 * time from when the vehicle stopped, red included, so a threshold shorter than
 * the red a queue waits through marks every queue reaching back over its
 * detector as jammed the moment its green starts, and the phase gaps out at its
 * minimum with the queue still there. On a coordinated signal a red is shorter
 * than the cycle, so its threshold is the cycle plus JAM_GRACE_S: a queue that
 * waited through its red extends its green, one still standing JAM_GRACE_S into
 * its green does not. (With 30 s, arterial-07 medium on the scenario bench:
 * A3's side street at its minimum green in 9 of 49 cycles of the demand hour,
 * side streets losing 80.6 s a vehicle against 49.3 s under the fixed plan;
 * docs/benchmarks.md.) A fully
 * actuated signal's red floats and has no such bound; it keeps JAM_THRESHOLD_S:
 * on the tuning half neither no threshold nor its planned cycle plus the grace
 * did clearly better there (within a percent either way, one seed).
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { CONTROL_COORDINATED, type ActuatedPlan } from '../../engine/timing/actuated.js';
import type { SumoMapping } from './importNet.js';
import { programOffsetS, resolutionOf, staticProgramLines, tlsSlices, type ExportOptions, type TlsSlice } from './exportTls.js';
import { escapeXml, fmtS } from './xml.js';
import { mod } from '../../engine/numeric.js';

/** Fully actuated signals: a vehicle standing on a detector this long no longer extends the green, s (SUMO jam-threshold). */
const JAM_THRESHOLD_S = 30;
/** Coordinated signals: a vehicle standing this long after the longest red it can have waited through (the cycle) is jammed, s. */
const JAM_GRACE_S = 10;

interface ActuatedSlice extends TlsSlice {
  minUnits: number;
  maxUnits: number;
  /** Program time (grid units from the program start) at which the slice must end at the latest / may end at the earliest; -1 = none. */
  latestEndUnits: number;
  earliestEndUnits: number;
}

export interface ActuatedExportOptions extends ExportOptions {
  /**
   * Signals a corridor coordinates are written as static (fixed-time) programs, the others fully
   * actuated: `sumo plan`'s default (see docs/sumo.md "Actuated control" for why).
   */
  readonly fixedWhereCoordinated?: boolean;
}

/** An `<additional>` file with one actuated program per imported signal that the plan times. */
export function exportActuated(c: CompiledNetwork, buffer: PlanBuffer, actuated: ActuatedPlan, mapping: SumoMapping, opts: ActuatedExportOptions = {}): string {
  const programId = escapeXml(opts.programId ?? 'greenwave');
  const q = resolutionOf(opts);
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const what = opts.fixedWhereCoordinated ? 'fixed-time where a corridor coordinates them, fully actuated (SUMO type="actuated") elsewhere' : 'run actuated (SUMO type="actuated")';
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<!-- generated by greenwave: signal timing plans ${what}; load with sumo -a (the last loaded program of a signal runs) -->`, '<additional>'];
  for (const m of mapping.intersections) {
    const i = index.get(m.intersectionId);
    if (i === undefined) continue;
    if (opts.fixedWhereCoordinated && actuated.mode[i] === CONTROL_COORDINATED) {
      lines.push(...staticProgramLines(c, buffer, i, m, opts));
      continue;
    }
    const cycleU = Math.round(buffer.cycleS[i]! / q);
    const { slices, startUnits, coordinated } = actuatedSlices(buffer, actuated, i, tlsSlices(c, buffer, i, m, q), cycleU);
    const offsetS = mod(programOffsetS(buffer, i, q) + startUnits * q, buffer.cycleS[i]!);
    let passageS = 0;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) passageS = Math.max(passageS, actuated.passageS[p]!);
    const mode = coordinated ? 'actuated-coordinated' : 'fully actuated';
    lines.push(`    <!-- ${escapeXml(m.intersectionId)}: ${mode}, cycle ${fmtS(buffer.cycleS[i]!)} s${coordinated ? `, offset ${fmtS(offsetS)} s at the first slice after the yield point` : ' as planned (it floats)'} -->`);
    lines.push(`    <tlLogic id="${escapeXml(m.tlsId)}" type="actuated" programID="${programId}" offset="${fmtS(Math.round(offsetS / q) * q)}">`);
    if (coordinated) lines.push('        <param key="coordinated" value="true"/>', `        <param key="cycleTime" value="${fmtS(cycleU * q)}"/>`);
    lines.push(`        <param key="max-gap" value="${fmtS(passageS)}"/>`, `        <param key="jam-threshold" value="${coordinated ? fmtS(cycleU * q + JAM_GRACE_S) : JAM_THRESHOLD_S}"/>`);
    for (const s of slices) {
      const t = (u: number) => fmtS(Math.round(u * q * 1000) / 1000);
      let attrs = `duration="${t(s.units)}"`;
      if (s.greens.length > 0) {
        attrs += ` minDur="${t(s.minUnits)}" maxDur="${t(s.maxUnits)}"`;
        if (s.earliestEndUnits >= 0) attrs += ` earliestEnd="${t(s.earliestEndUnits)}"`;
        if (s.latestEndUnits >= 0) attrs += ` latestEnd="${t(s.latestEndUnits)}"`;
      }
      lines.push(`        <phase ${attrs} state="${s.state}" name="${escapeXml(s.name)}"/>`);
    }
    lines.push('    </tlLogic>');
  }
  lines.push('</additional>', '');
  return lines.join('\n');
}

/**
 * The slices of intersection i timed for actuated operation, in program order,
 * with the grid time (from the plan's cycle start) at which the program starts.
 */
function actuatedSlices(buffer: PlanBuffer, actuated: ActuatedPlan, i: number, planned: readonly TlsSlice[], cycleU: number): { slices: ActuatedSlice[]; startUnits: number; coordinated: boolean } {
  const n = planned.length;
  const isCoord = planned.map((s) => s.greens.some((p) => actuated.coordinated[p] === 1));
  // The yield point: the end of the longest run of coordinated slices (cyclically).
  let yieldAfter = -1;
  if (actuated.mode[i] === CONTROL_COORDINATED && isCoord.some((x) => x) && !isCoord.every((x) => x)) {
    let best = -1;
    for (let k = 0; k < n; k++) {
      if (!isCoord[k] || isCoord[(k + 1) % n]) continue;
      let len = 0;
      for (let j = k; isCoord[mod(j, n)] && len < n; j--) len += planned[mod(j, n)]!.units;
      if (len > best) {
        best = len;
        yieldAfter = k;
      }
    }
  }
  const coordinated = yieldAfter >= 0;
  let startUnits = 0;
  let order: TlsSlice[] = planned.map((s) => ({ ...s, greens: [...s.greens] }));
  if (coordinated) {
    for (let k = 0; k <= yieldAfter; k++) startUnits += planned[k]!.units;
    order = [...order.slice(yieldAfter + 1), ...order.slice(0, yieldAfter + 1)];
    // The plan's cycle start is now inside the program: join the slices it cut if they show the same.
    const cut = n - (yieldAfter + 1);
    if (cut > 0 && cut < n && order[cut - 1]!.state === order[cut]!.state) {
      const [a, b] = [order[cut - 1]!, order[cut]!];
      a.units += b.units;
      for (const p of b.greens) if (!a.greens.includes(p)) a.greens.push(p);
      order.splice(cut, 1);
    }
  }
  let endU = 0;
  const slices = order.map((s): ActuatedSlice => {
    endU += s.units;
    const out: ActuatedSlice = { ...s, minUnits: s.units, maxUnits: s.units, latestEndUnits: -1, earliestEndUnits: -1 };
    if (s.greens.length === 0) return out;
    let ratioMin = 0;
    let ratioMax = Number.POSITIVE_INFINITY;
    for (const p of s.greens) {
      const greenS = buffer.phaseGreenS[p]!;
      ratioMin = Math.max(ratioMin, actuated.minGreenS[p]! / greenS);
      ratioMax = Math.min(ratioMax, actuated.maxGreenS[p]! / greenS);
    }
    out.minUnits = Math.min(s.units, Math.max(1, Math.ceil(s.units * ratioMin - 1e-9)));
    out.maxUnits = Math.max(s.units, Math.floor(s.units * ratioMax + 1e-9));
    if (coordinated) {
      if (s.greens.some((p) => actuated.coordinated[p] === 1)) {
        // Held to the planned end; room to start as early as the side streets allow.
        out.earliestEndUnits = endU;
        out.maxUnits = cycleU;
      }
      out.latestEndUnits = endU;
    }
    return out;
  });
  return { slices, startUnits, coordinated };
}
