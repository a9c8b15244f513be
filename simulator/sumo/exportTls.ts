/**
 * Writes greenwave timing plans as SUMO static traffic-light programs.
 *
 * Each imported signal gets one `<tlLogic type="static" programID=…>` built by
 * time slicing its greenwave cycle: every phase's green start, green end,
 * yellow end and all-red end is a breakpoint; for each slice between
 * breakpoints, every SUMO link index gets
 *   'G' when a green phase protects its movement,
 *   'g' when a green phase permits it (SUMO vehicles then yield),
 *   'y' when a phase that greened it is in yellow and no green phase serves it,
 *   'r' otherwise.
 * Links greenwave does not know (a fifth approach, unknown turn directions;
 * `importSumoNet` lists them in `mapping.notes`) follow the stages in which
 * SUMO's own program greens them (`SumoLinkInfo.follows`): 'g' (yield) while
 * one of those stages is green, 'y' in its yellow, else 'r'; a link SUMO never
 * greens stays 'r'.
 * Consecutive slices with the same state are merged.
 *
 * Durations: breakpoints are rounded to `resolutionS` (default 1 s, SUMO's
 * default step length) before slicing, so the SUMO cycle equals the greenwave
 * cycle exactly and no phase is shorter than one step; pass 0.1 when SUMO runs
 * with `--step-length 0.1`.
 *
 * Offset: SUMO puts a static program at cycle position (t − offset) mod C at
 * simulation time t, exactly greenwave's meaning of `offsetS` (the local cycle,
 * whose first phase starts at 0, begins at corridor time `offsetS`). So the
 * greenwave offset is written unchanged; simulation time 0 is the corridor
 * clock's 0. (Checked against SUMO 1.15 with SaveTLSStates in sumo.test.ts.)
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { parseMovementId } from '../../engine/network/geometry.js';
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import type { SumoIntersectionMapping, SumoMapping } from './importNet.js';
import { escapeXml, fmtS } from './xml.js';
import { mod } from '../../engine/numeric.js';

export interface ExportOptions {
  /** programID of the written programs. Default "greenwave". */
  readonly programId?: string;
  /** Time grid of phase boundaries, s. Default 1. */
  readonly resolutionS?: number;
}

export interface SumoPhase {
  readonly durationS: number;
  readonly state: string;
  /** Greenwave phases green in this slice, or "clearance". */
  readonly name: string;
}


/** The SUMO phase list for compiled intersection `i`, starting at greenwave cycle time 0. */
export function tlsPhases(c: CompiledNetwork, buffer: PlanBuffer, i: number, m: SumoIntersectionMapping, resolutionS = 1): SumoPhase[] {
  const q = resolutionS;
  return tlsSlices(c, buffer, i, m, q).map((x) => ({ durationS: Math.round(x.units * q * 1000) / 1000, state: x.state, name: x.name }));
}

/** One slice of the cycle on the `q` grid: its length in grid units, SUMO state, name and the global indices of the phases green in it. */
export interface TlsSlice {
  units: number;
  readonly state: string;
  readonly name: string;
  readonly greens: number[];
}

/** The time slices of `tlsPhases` in grid units, with the phases green in each (used by the actuated export too). */
export function tlsSlices(c: CompiledNetwork, buffer: PlanBuffer, i: number, m: SumoIntersectionMapping, resolutionS = 1): TlsSlice[] {
  const q = resolutionS;
  const cycleU = Math.round(buffer.cycleS[i]! / q);
  if (!(cycleU > 0)) throw new GreenwaveError(ErrorCode.Internal, `intersection ${c.intersectionIds[i]}: cycle ${buffer.cycleS[i]} s is not positive`);
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  // Per phase: [start, length] of green, yellow in grid units (start may be any value; compared mod cycle).
  const windows: { p: number; green: [number, number]; yellow: [number, number] }[] = [];
  const cuts = new Set<number>([0]);
  for (let p = p0; p < p1; p++) {
    const s = buffer.phaseStartS[p]!;
    const gEnd = s + buffer.phaseGreenS[p]!;
    const yEnd = gEnd + buffer.phaseYellowS[p]!;
    const rEnd = yEnd + buffer.phaseAllRedS[p]!;
    const [a, b, y, r] = [s, gEnd, yEnd, rEnd].map((x) => Math.round(x / q));
    windows.push({ p, green: [a!, b! - a!], yellow: [b!, y! - b!] });
    for (const x of [a!, b!, y!, r!]) cuts.add(mod(x, cycleU));
    // The grid must not shorten what safety asks (a phase the plan skips has no times at all).
    if (b! - a! + y! - b! + r! - y! === 0) continue;
    const short = [
      ['green', (b! - a!) * q, c.phaseMinGreenS[p]!],
      ['yellow', (y! - b!) * q, c.phaseYellowS[p]!],
      ['all-red', (r! - y!) * q, c.phaseAllRedS[p]!],
    ].find(([, got, need]) => (got as number) < (need as number) - 1e-6);
    if (short) {
      throw new GreenwaveError(
        ErrorCode.InvalidInput,
        `intersection ${c.intersectionIds[i]} phase ${c.phaseIds[p]}: on a ${q} s grid its ${short[0]} would be ${fmtS(short[1] as number)} s, below the ${fmtS(short[2] as number)} s it needs; plan with a timing step (defaults.timingStepS) that is a multiple of the ${q} s resolution`,
      );
    }
  }
  const sorted = [...cuts].sort((x, y) => x - y);
  const inside = (t: number, [start, len]: [number, number]) => len > 0 && mod(t - start, cycleU) < len;
  const linkMovement = m.links.map((l) => (l?.movement ? parseMovementId(l.movement)?.index : undefined));
  const out: TlsSlice[] = [];
  for (let k = 0; k < sorted.length; k++) {
    const from = sorted[k]!;
    const to = k + 1 < sorted.length ? sorted[k + 1]! : cycleU;
    if (to <= from) continue;
    const t = (from + to) / 2;
    let prot = 0;
    let perm = 0;
    let yellow = 0;
    const greenIds: string[] = [];
    const greens: number[] = [];
    const yellowIds: string[] = [];
    for (const w of windows) {
      if (inside(t, w.green)) {
        prot |= c.phaseProtectedMask[w.p]!;
        perm |= c.phasePermittedMask[w.p]!;
        greenIds.push(c.phaseIds[w.p]!);
        greens.push(w.p);
      } else if (inside(t, w.yellow)) {
        yellow |= c.phaseProtectedMask[w.p]! | c.phasePermittedMask[w.p]!;
        yellowIds.push(c.phaseIds[w.p]!);
      }
    }
    let state = '';
    for (let l = 0; l < m.linkCount; l++) {
      const mv = linkMovement[l];
      const follows = m.links[l]?.follows;
      if (mv === undefined && follows) state += follows.some((id) => greenIds.includes(id)) ? 'g' : follows.some((id) => yellowIds.includes(id)) ? 'y' : 'r';
      else if (mv === undefined) state += 'r';
      else if ((prot >> mv) & 1) state += 'G';
      else if ((perm >> mv) & 1) state += 'g';
      else if ((yellow >> mv) & 1) state += 'y';
      else state += 'r';
    }
    const name = greenIds.length > 0 ? greenIds.join('+') : state.includes('y') ? 'yellow' : 'all red';
    const prev = out[out.length - 1];
    if (prev && prev.state === state) {
      prev.units += to - from;
      for (const p of greens) if (!prev.greens.includes(p)) prev.greens.push(p);
    } else out.push({ units: to - from, state, name, greens });
  }
  return out;
}

/** An `<additional>` file with one static program per imported signal that the plan times. */
export function exportTlLogic(c: CompiledNetwork, buffer: PlanBuffer, mapping: SumoMapping, opts: ExportOptions = {}): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<!-- generated by greenwave: signal timing plans as SUMO static programs; load with sumo -a (the last loaded program of a signal runs) -->', '<additional>'];
  lines.push(...tlLogicLines(c, buffer, mapping, opts));
  lines.push('</additional>', '');
  return lines.join('\n');
}

/** The `<tlLogic>` elements of `exportTlLogic`, one per imported signal, without the file around them. */
function tlLogicLines(c: CompiledNetwork, buffer: PlanBuffer, mapping: SumoMapping, opts: ExportOptions): string[] {
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const lines: string[] = [];
  for (const m of mapping.intersections) {
    const i = index.get(m.intersectionId);
    if (i !== undefined) lines.push(...staticProgramLines(c, buffer, i, m, opts));
  }
  return lines;
}

/** One signal's static `<tlLogic>` (with its comment line): intersection i of the plan, SUMO signal `m`. */
export function staticProgramLines(c: CompiledNetwork, buffer: PlanBuffer, i: number, m: SumoIntersectionMapping, opts: ExportOptions): string[] {
  const programId = escapeXml(opts.programId ?? 'greenwave');
  const q = resolutionOf(opts);
  const phases = tlsPhases(c, buffer, i, m, q);
  const offset = programOffsetS(buffer, i, q);
  const lines = [`    <!-- ${escapeXml(m.intersectionId)}: cycle ${fmtS(buffer.cycleS[i]!)} s, offset ${fmtS(offset)} s -->`];
  lines.push(`    <tlLogic id="${escapeXml(m.tlsId)}" type="static" programID="${programId}" offset="${fmtS(offset)}">`);
  for (const ph of phases) lines.push(`        <phase duration="${fmtS(ph.durationS)}" state="${ph.state}" name="${escapeXml(ph.name)}"/>`);
  lines.push('    </tlLogic>');
  return lines;
}

export function resolutionOf(opts: ExportOptions): number {
  const q = opts.resolutionS ?? 1;
  if (!(q > 0 && q <= 1)) throw new GreenwaveError(ErrorCode.InvalidInput, `resolutionS must be in (0, 1], got ${q}`);
  return q;
}

/** The offset written for intersection i: the plan's, on the `q` grid, inside the cycle. */
export function programOffsetS(buffer: PlanBuffer, i: number, q: number): number {
  return mod(Math.round(buffer.offsetS[i]! / q) * q, buffer.cycleS[i]!);
}

/** One time-of-day period's plan, for `exportTimeOfDay`. */
export interface TimeOfDayProgram {
  /** Program suffix: the written programID is `<programId>-<id>`. */
  readonly id: string;
  /** Seconds after simulation time 0 (midnight) at which the period starts. */
  readonly startS: number;
  readonly buffer: PlanBuffer;
}

/**
 * A day plan for SUMO: every period's programs, and per signal a WAUT that
 * switches between them each day (period 86400 s). A signal switches at its
 * running program's first cycle boundary at or after the period's start
 * (t ≡ offset mod cycle), as a field controller changes pattern at cycle
 * zero: the running cycle ends with its yellows and all-reds, never cut.
 * Switch times are listed in comments. Load with sumo -a.
 */
export function exportTimeOfDay(c: CompiledNetwork, periods: readonly TimeOfDayProgram[], mapping: SumoMapping, opts: ExportOptions = {}): string {
  if (periods.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'a day plan needs at least one period');
  const base = opts.programId ?? 'greenwave';
  const sorted = [...periods].sort((a, b) => a.startS - b.startS);
  const lines: string[] = [];
  for (const p of sorted) lines.push(...tlLogicLines(c, p.buffer, mapping, { ...opts, programId: `${base}-${p.id}` }));
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const q = resolutionOf(opts);
  for (const m of mapping.intersections) {
    const i = index.get(m.intersectionId);
    if (i === undefined) continue;
    const tls = escapeXml(m.tlsId);
    // The period running at midnight is the last one that starts before it (a night across midnight).
    const first = sorted[sorted.length - 1]!;
    const switches = sorted.map((p, k) => {
      const prev = sorted[(k + sorted.length - 1) % sorted.length]!;
      const cycle = prev.buffer.cycleS[i]!;
      const atS = p.startS + mod(programOffsetS(prev.buffer, i, q) - p.startS, cycle);
      return { atS: Math.round(atS * 1000) / 1000, to: `${base}-${p.id}` };
    });
    lines.push(`    <WAUT id="${escapeXml(base)}-day-${tls}" refTime="0" period="86400" startProg="${escapeXml(`${base}-${first.id}`)}">`);
    for (const sw of switches.sort((a, b) => a.atS - b.atS)) {
      lines.push(`        <wautSwitch time="${fmtS(sw.atS)}" to="${escapeXml(sw.to)}"/>`);
    }
    lines.push('    </WAUT>');
    lines.push(`    <wautJunction wautID="${escapeXml(base)}-day-${tls}" junctionID="${tls}"/>`);
  }
  return ['<?xml version="1.0" encoding="UTF-8"?>', '<!-- generated by greenwave: a time-of-day plan, one program per period, switched by a daily WAUT at each signal\'s cycle boundary; load with sumo -a -->', '<additional>', ...lines, '</additional>', ''].join('\n');
}
