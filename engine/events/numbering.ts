/**
 * How greenwave numbers phases and detectors in the event log, the event parameter of
 * phase events and detector events. Used by the emitters and by engine/measures/ to map
 * a logged number back to the compiled network.
 *
 * Phase number: when every phase id of the intersection is a distinct whole number 1..16
 * (NEMA phase numbers, as ring-barrier networks name them), the id itself; otherwise the
 * phase's 1-based position in the intersection's compiled phase order (barrier, ring,
 * position: engine/network/compile.ts). All or nothing per intersection, so a mixed set of
 * ids ("2", "S1") can never give two phases the same number.
 *
 * Detector channel: the detector's dense index within its intersection + 1, in the order
 * the network file lists the intersection's detectors (which is the compiled order).
 */
import type { CompiledNetwork } from '../network/compile.js';

export const MAX_PHASE_NUMBER = 16;

export interface EventNumbering {
  /** Per global phase: its number in the log. */
  readonly phaseNumber: Uint8Array;
  /** Per global detector: its channel in the log. */
  readonly detectorChannel: Uint16Array;
  /** Per global detector: its intersection. */
  readonly detectorIntersection: Int32Array;
  /** Per intersection: its first global detector, and one past its last ([i], [i + 1]). */
  readonly detectorStart: Int32Array;
}

export function eventNumbering(c: CompiledNetwork): EventNumbering {
  const phaseNumber = new Uint8Array(c.phaseIds.length);
  for (let i = 0; i < c.intersectionCount; i++) {
    const p0 = c.phaseStart[i]!;
    const p1 = c.phaseStart[i + 1]!;
    const seen = new Set<number>();
    let numeric = true;
    for (let p = p0; p < p1; p++) {
      const id = c.phaseIds[p]!;
      const n = /^\d{1,2}$/.test(id) ? Number(id) : Number.NaN;
      if (!(n >= 1 && n <= MAX_PHASE_NUMBER) || seen.has(n)) numeric = false;
      seen.add(n);
    }
    for (let p = p0; p < p1; p++) phaseNumber[p] = numeric ? Number(c.phaseIds[p]) : p - p0 + 1;
  }
  // Detectors are compiled intersection by intersection, in file order.
  const nd = c.detectorIds.length;
  const detectorChannel = new Uint16Array(nd);
  const detectorIntersection = new Int32Array(nd);
  const detectorStart = new Int32Array(c.intersectionCount + 1);
  let i = 0;
  let first = 0;
  for (let d = 0; d < nd; d++) {
    const lane = c.detectorLane[d]!;
    while (lane >= c.laneStart[i + 1]!) {
      i++;
      detectorStart[i] = d;
      first = d;
    }
    detectorIntersection[d] = i;
    detectorChannel[d] = d - first + 1;
  }
  for (let k = i + 1; k <= c.intersectionCount; k++) detectorStart[k] = nd;
  return { phaseNumber, detectorChannel, detectorIntersection, detectorStart };
}

/** The global phase of intersection i logged as `phaseNumber`, or -1. */
export function phaseOfNumber(c: CompiledNetwork, numbering: EventNumbering, i: number, phaseNumber: number): number {
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if (numbering.phaseNumber[p] === phaseNumber) return p;
  return -1;
}

/** The global detector of intersection i logged as `channel`, or -1. */
export function detectorOfChannel(numbering: EventNumbering, i: number, channel: number): number {
  const d = numbering.detectorStart[i]! + channel - 1;
  return channel >= 1 && d < numbering.detectorStart[i + 1]! ? d : -1;
}
