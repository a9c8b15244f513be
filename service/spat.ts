/**
 * SPaT-like state of one intersection at an instant, from the schedule the
 * TSP controller will run (base plan plus any priority adjustment). For each
 * movement: its J2735 MovementPhaseState, the likely end (the scheduled end in
 * the plan) and the minimum end (a running green may be cut down to its
 * minimum green / pedestrian time by a priority request elsewhere; yellow and
 * red are reported as fixed). Which lamps are lit comes from the engine's one
 * lamp rule (engine/runner/lamps.ts), as in the simulator and the controller.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { TspController } from '../engine/priority/tsp.js';
import { greenFloorS } from '../engine/priority/layout.js';
import { MOVEMENT_COUNT, movementId } from '../engine/network/geometry.js';
import { evaluateLamps, PHASE_GREEN, phaseIntervals } from '../engine/runner/lamps.js';

export type MovementPhaseState = 'MOVEMENT_PHASE_STATE_STOP_AND_REMAIN' | 'MOVEMENT_PHASE_STATE_PERMISSIVE_MOVEMENT_ALLOWED' | 'MOVEMENT_PHASE_STATE_PROTECTED_MOVEMENT_ALLOWED' | 'MOVEMENT_PHASE_STATE_PERMISSIVE_CLEARANCE' | 'MOVEMENT_PHASE_STATE_PROTECTED_CLEARANCE';

export interface MovementSpat {
  readonly movementId: string;
  readonly state: MovementPhaseState;
  readonly minEndS: number;
  readonly likelyEndS: number;
}

export interface IntersectionSpat {
  readonly intersectionId: string;
  readonly tS: number;
  readonly revision: number;
  readonly cycleS: number;
  readonly cycleTimeS: number;
  readonly greenPhaseIds: string[];
  readonly movements: MovementSpat[];
  readonly priorityActive: boolean;
  /** Bit masks as the simulator's SignalHeads report them, for cross-checks. */
  readonly greenMask: number;
  readonly yellowMask: number;
}

interface Masks {
  protectedGreen: number;
  permittedGreen: number;
  yellow: number;
  greenPhases: number[];
  /** Earliest end of the running green of each phase, absolute s (phases green now). */
  phaseMinEnd: Map<number, number>;
}

/**
 * Scratch for the engine's lamp rule: one slot of masks; the layout copied to global
 * phase indices (the rule's indexing) and the intervals, grown per network.
 */
const lampGreen = new Uint16Array(1);
const lampYellow = new Uint16Array(1);
const lampPermitted = new Uint16Array(1);
let scratchStartS = new Float64Array(64);
let scratchGreenS = new Float64Array(64);
let scratchYellowS = new Float64Array(64);
let scratchAllRedS = new Float64Array(64);
let phaseInterval = new Uint8Array(64);

function masksAt(c: CompiledNetwork, tsp: TspController, i: number, tS: number): Masks {
  const cyc = tsp.cycleAt(i, tS);
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  if (phaseInterval.length < p1) {
    scratchStartS = new Float64Array(p1);
    scratchGreenS = new Float64Array(p1);
    scratchYellowS = new Float64Array(p1);
    scratchAllRedS = new Float64Array(p1);
    phaseInterval = new Uint8Array(p1);
  }
  const l = cyc.layout;
  scratchStartS.set(l.startS, p0);
  scratchGreenS.set(l.greenS, p0);
  scratchYellowS.set(l.yellowS, p0);
  scratchAllRedS.set(l.allRedS, p0);
  // The same rule the cycle runner drives the simulator's and the controller's lamps with.
  const tau = tS - cyc.startS;
  evaluateLamps(c, i, tau, scratchStartS, scratchGreenS, scratchYellowS, lampGreen, lampYellow, lampPermitted, 0);
  phaseIntervals(c, i, tau, scratchStartS, scratchGreenS, scratchYellowS, scratchAllRedS, phaseInterval);
  const m: Masks = { protectedGreen: lampGreen[0]! & ~lampPermitted[0]!, permittedGreen: lampPermitted[0]!, yellow: lampYellow[0]!, greenPhases: [], phaseMinEnd: new Map() };
  for (let p = p0; p < p1; p++) {
    if (phaseInterval[p] !== PHASE_GREEN) continue;
    m.greenPhases.push(p);
    m.phaseMinEnd.set(p, Math.max(tS, cyc.startS + l.startS[p - p0]! + greenFloorS(c, p)));
  }
  return m;
}

function stateOf(m: Masks, bit: number): MovementPhaseState {
  if (m.protectedGreen & bit) return 'MOVEMENT_PHASE_STATE_PROTECTED_MOVEMENT_ALLOWED';
  if (m.permittedGreen & bit) return 'MOVEMENT_PHASE_STATE_PERMISSIVE_MOVEMENT_ALLOWED';
  if (m.yellow & bit) return 'MOVEMENT_PHASE_STATE_PROTECTED_CLEARANCE';
  return 'MOVEMENT_PHASE_STATE_STOP_AND_REMAIN';
}

/** Phase boundary instants of intersection i after t, over the next two cycles. */
function boundaries(c: CompiledNetwork, tsp: TspController, i: number, tS: number): number[] {
  const out: number[] = [];
  for (const slot of tsp.cyclesFrom(i, tS, 3)) {
    const l = slot.layout;
    for (let k = 0; k < l.greenS.length; k++) {
      const s = slot.startS + l.startS[k]!;
      out.push(s, s + l.greenS[k]!, s + l.greenS[k]! + l.yellowS[k]!);
    }
  }
  void c;
  return out.filter((x) => x > tS + 1e-9).sort((a, b) => a - b);
}

export function intersectionSpat(c: CompiledNetwork, tsp: TspController, i: number, tS: number): IntersectionSpat {
  const now = masksAt(c, tsp, i, tS);
  const cyc = tsp.cycleAt(i, tS);
  const times = boundaries(c, tsp, i, tS);
  const statesAt = times.map((t) => masksAt(c, tsp, i, t + 1e-6));
  let present = 0;
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) present |= c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!;
  const movements: MovementSpat[] = [];
  for (let mv = 0; mv < MOVEMENT_COUNT; mv++) {
    const bit = 1 << mv;
    if (!(present & bit)) continue;
    const state = stateOf(now, bit);
    let likely = times.length > 0 ? times[times.length - 1]! : tS;
    for (let k = 0; k < times.length; k++) {
      if (stateOf(statesAt[k]!, bit) !== state) {
        likely = times[k]!;
        break;
      }
    }
    let minEnd = likely;
    if (state === 'MOVEMENT_PHASE_STATE_PROTECTED_MOVEMENT_ALLOWED' || state === 'MOVEMENT_PHASE_STATE_PERMISSIVE_MOVEMENT_ALLOWED') {
      for (const p of now.greenPhases) if ((c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!) & bit) minEnd = Math.min(minEnd, now.phaseMinEnd.get(p)!);
    }
    movements.push({ movementId: movementId(mv), state, minEndS: minEnd, likelyEndS: likely });
  }
  return {
    intersectionId: c.intersectionIds[i]!,
    tS,
    revision: tsp.revision[i]!,
    cycleS: cyc.layout.cycleS,
    cycleTimeS: Math.round((tS - cyc.startS) * 1000) / 1000,
    greenPhaseIds: now.greenPhases.map((p) => c.phaseIds[p]!),
    movements,
    priorityActive: cyc.adjusted,
    greenMask: now.protectedGreen | now.permittedGreen,
    yellowMask: now.yellow,
  };
}
