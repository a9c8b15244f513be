/**
 * Replays SUMO signal programs (`<tlLogic>` from a net or an additional file)
 * as the simulator's lamps, state letter by state letter, so that our
 * simulator and SUMO can be run on exactly the same program: the fidelity
 * benchmark and `greenwave sim` use it. It is a referee's playback, not a
 * controller: it drives no field signal, and greenwave's own plans reach
 * lamps only through the one cycle runner (engine/runner/cycleRunner.ts) and
 * its validator. A program SUMO would run actuated or delay-based is played
 * at its phases' `duration`s and reported as such.
 *
 * SUMO's convention for `offset`: a positive offset delays every phase, so
 * the program is at position (t − offset) mod cycle at time t.
 */
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { parseMovementId } from '../../engine/network/geometry.js';
import type { LampSource } from '../signals.js';
import type { SumoMapping } from './importNet.js';
import { attr, children, numAttr, parseSumoXml } from './xml.js';

export interface SumoProgram {
  readonly tlsId: string;
  readonly programId: string;
  readonly type: string;
  readonly offsetS: number;
  readonly phases: readonly { readonly durationS: number; readonly state: string }[];
}

/**
 * The programs of a net or additional file, the last one per traffic light (the one SUMO runs),
 * on top of `base` (programs loaded before). A `<tlLogic>` without phases changes the offset of
 * a program loaded before it, as SUMO reads tlsCoordinator.py's output.
 */
export function readSumoPrograms(xmlText: string, what: string, base: ReadonlyMap<string, SumoProgram> = new Map()): Map<string, SumoProgram> {
  const doc = parseSumoXml(xmlText, what, ['tlLogic', 'phase']);
  const root = doc['net'] ?? doc['additional'] ?? doc['add'];
  if (root === undefined || root === null || typeof root !== 'object') throw new GreenwaveError(ErrorCode.InvalidInput, `${what}: expected a <net> or <additional> root element`);
  const out = new Map(base);
  children(root, 'tlLogic').forEach((t, k) => {
    const tlsId = attr(t, 'id');
    if (!tlsId) throw new GreenwaveError(ErrorCode.InvalidInput, `${what}: tlLogic[${k}] has no id`, [{ path: `tlLogic[${k}].id`, message: 'missing' }]);
    const programId = attr(t, 'programID') ?? '0';
    const offsetS = numAttr(t, 'offset') ?? 0;
    const phaseNodes = children(t, 'phase');
    if (phaseNodes.length === 0) {
      const before = out.get(tlsId);
      if (!before || before.programId !== programId) throw new GreenwaveError(ErrorCode.InvalidInput, `${what}: tlLogic ${tlsId} (program ${programId}) has no phases and changes no program loaded before it`, [{ path: `tlLogic[${k}]`, message: 'no phases' }]);
      out.set(tlsId, { ...before, offsetS });
      return;
    }
    const phases = phaseNodes.map((p, q) => {
      const durationS = numAttr(p, 'duration');
      const state = attr(p, 'state');
      if (durationS === undefined || !(durationS > 0) || !state) throw new GreenwaveError(ErrorCode.InvalidInput, `${what}: tlLogic ${tlsId} phase[${q}] needs a positive duration and a state`, [{ path: `tlLogic[${k}].phase[${q}]`, message: 'bad phase' }]);
      return { durationS, state };
    });
    out.set(tlsId, { tlsId, programId, type: attr(t, 'type') ?? 'static', offsetS, phases });
  });
  return out;
}

/** Lamp masks per intersection from SUMO programs; `update(t)` sets them for time t. */
export class SumoProgramLamps implements LampSource {
  readonly greenMask: Uint16Array;
  readonly yellowMask: Uint16Array;
  readonly permittedMask: Uint16Array;
  /** Per intersection: program offset, cycle, and its phases' end times and masks. */
  private readonly offsetS: Float64Array;
  private readonly cycleS: Float64Array;
  private readonly phaseStart: Int32Array;
  private readonly phaseEndS: Float64Array;
  private readonly phaseGreen: Uint16Array;
  private readonly phaseYellow: Uint16Array;
  private readonly phasePermitted: Uint16Array;
  /** Programs played at their phase durations though SUMO would run them actuated or delay-based. */
  readonly notStatic: readonly string[];

  constructor(c: CompiledNetwork, mapping: SumoMapping, programs: ReadonlyMap<string, SumoProgram>) {
    const n = c.intersectionCount;
    this.greenMask = new Uint16Array(n);
    this.yellowMask = new Uint16Array(n);
    this.permittedMask = new Uint16Array(n);
    this.offsetS = new Float64Array(n);
    this.cycleS = new Float64Array(n);
    this.phaseStart = new Int32Array(n + 1);
    const ends: number[] = [];
    const green: number[] = [];
    const yellow: number[] = [];
    const permitted: number[] = [];
    const notStatic: string[] = [];
    const byId = new Map(mapping.intersections.map((m) => [m.intersectionId, m]));
    for (let i = 0; i < n; i++) {
      this.phaseStart[i] = ends.length;
      const m = byId.get(c.intersectionIds[i]!);
      const program = m ? programs.get(m.tlsId) : undefined;
      if (!m || !program) throw new GreenwaveError(ErrorCode.InvalidInput, `no SUMO program for intersection ${c.intersectionIds[i]}${m ? ` (traffic light ${m.tlsId})` : ''}`);
      if (program.type !== 'static') notStatic.push(`${m.tlsId} (${program.type})`);
      let endS = 0;
      for (const ph of program.phases) {
        let g = 0;
        let y = 0;
        let p = 0;
        for (const [movement, links] of Object.entries(m.movements)) {
          const ref = parseMovementId(movement);
          if (!ref) continue;
          const letters = links.map((l) => ph.state[l] ?? 'r');
          const bit = 1 << ref.index;
          if (letters.includes('G')) g |= bit;
          else if (letters.some((x) => x === 'g' || x === 'o' || x === 'O')) {
            g |= bit;
            p |= bit;
          } else if (letters.some((x) => x === 'y' || x === 'Y')) y |= bit;
        }
        endS += ph.durationS;
        ends.push(endS);
        green.push(g);
        yellow.push(y);
        permitted.push(p);
      }
      this.cycleS[i] = endS;
      this.offsetS[i] = program.offsetS;
    }
    this.phaseStart[n] = ends.length;
    this.phaseEndS = Float64Array.from(ends);
    this.phaseGreen = Uint16Array.from(green);
    this.phaseYellow = Uint16Array.from(yellow);
    this.phasePermitted = Uint16Array.from(permitted);
    this.notStatic = notStatic;
  }

  update(tS: number): void {
    for (let i = 0; i < this.cycleS.length; i++) {
      const cycle = this.cycleS[i]!;
      let pos = (tS - this.offsetS[i]!) % cycle;
      if (pos < 0) pos += cycle;
      let q = this.phaseStart[i]!;
      const last = this.phaseStart[i + 1]! - 1;
      while (q < last && pos >= this.phaseEndS[q]!) q++;
      this.greenMask[i] = this.phaseGreen[q]!;
      this.yellowMask[i] = this.phaseYellow[q]!;
      this.permittedMask[i] = this.phasePermitted[q]!;
    }
  }
}
