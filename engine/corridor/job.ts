/**
 * One corridor as a single Float64Array, so that a city's corridors cross
 * thread boundaries as transferred buffers, never as object graphs. The
 * corridor planner and the city benchmark encode; the worker decodes (views,
 * no copies), solves the band, refines offsets, and encodes the result.
 *
 * Layout (all float64): a header [magic, version, n, cycleS, weightOut,
 * weightIn], then per-intersection arrays, then per-link arrays, in the order
 * of the field tables below. Results use their own header.
 */
import { allocateSolution, BandSolver, MAX_PATTERNS, type BandProblem, type BandSolution } from './band.js';
import { OffsetRefiner, type CorridorTraffic, type Performance } from './transyt.js';
import { GreenwaveError, ErrorCode } from '../errors.js';

export const JOB_MAGIC = 0x6777_6a62; // "gwjb"
export const RESULT_MAGIC = 0x6777_7273; // "gwrs"
export const JOB_VERSION = 1;
const HEADER = 6;
/** Per-intersection fields, each n long, except the two pattern tables (n × MAX_PATTERNS). */
const NODE_FIELDS = ['periodS', 'greenOutS', 'greenInS', 'patternCount', 'outStartS', 'inStartS', 'flowOutVehPerH', 'flowInVehPerH', 'satOutVehPerH', 'satInVehPerH', 'lanesOut', 'lanesIn', 'queueOutS', 'queueInS'] as const;
const WIDE = new Set<string>(['outStartS', 'inStartS']);
const LINK_FIELDS = ['travelOutMinS', 'travelOutMaxS', 'travelInMinS', 'travelInMaxS'] as const;

export function jobLength(n: number): number {
  let len = HEADER;
  for (const f of NODE_FIELDS) len += WIDE.has(f) ? n * MAX_PATTERNS : n;
  return len + LINK_FIELDS.length * Math.max(0, n - 1);
}

export function encodeJob(p: BandProblem, t: CorridorTraffic, buffer?: Float64Array): Float64Array {
  const out = buffer ?? new Float64Array(jobLength(p.n));
  out.set([JOB_MAGIC, JOB_VERSION, p.n, p.cycleS, p.weightOut, p.weightIn]);
  let at = HEADER;
  const source: Record<string, ArrayLike<number>> = { ...p, ...t } as unknown as Record<string, ArrayLike<number>>;
  for (const f of NODE_FIELDS) {
    const len = WIDE.has(f) ? p.n * MAX_PATTERNS : p.n;
    const src = source[f]!;
    for (let k = 0; k < len; k++) out[at + k] = src[k]!;
    at += len;
  }
  for (const f of LINK_FIELDS) {
    const src = source[f]!;
    for (let k = 0; k < p.n - 1; k++) out[at + k] = src[k]!;
    at += p.n - 1;
  }
  return out;
}

/** Views into an encoded job; rejects buffers that are not a job of this version. */
export function decodeJob(buf: Float64Array): { problem: BandProblem; traffic: CorridorTraffic } {
  if (buf.length < HEADER || buf[0] !== JOB_MAGIC) throw new GreenwaveError(ErrorCode.InvalidInput, 'not a greenwave corridor job (bad magic)');
  if (buf[1] !== JOB_VERSION) throw new GreenwaveError(ErrorCode.InvalidInput, `corridor job version ${buf[1]}, expected ${JOB_VERSION}`);
  const n = buf[2]!;
  if (!Number.isInteger(n) || n < 2 || buf.length !== jobLength(n)) throw new GreenwaveError(ErrorCode.InvalidInput, `corridor job of ${buf.length} values does not fit n = ${n}`);
  const views: Record<string, Float64Array> = {};
  let at = HEADER;
  for (const f of NODE_FIELDS) {
    const len = WIDE.has(f) ? n * MAX_PATTERNS : n;
    views[f] = buf.subarray(at, at + len);
    at += len;
  }
  for (const f of LINK_FIELDS) {
    views[f] = buf.subarray(at, at + n - 1);
    at += n - 1;
  }
  const v = views as Record<(typeof NODE_FIELDS)[number] | (typeof LINK_FIELDS)[number], Float64Array>;
  return {
    problem: {
      n,
      cycleS: buf[3]!,
      weightOut: buf[4]!,
      weightIn: buf[5]!,
      periodS: v.periodS,
      greenOutS: v.greenOutS,
      greenInS: v.greenInS,
      patternCount: v.patternCount,
      outStartS: v.outStartS,
      inStartS: v.inStartS,
      travelOutMinS: v.travelOutMinS,
      travelOutMaxS: v.travelOutMaxS,
      travelInMinS: v.travelInMinS,
      travelInMaxS: v.travelInMaxS,
    },
    traffic: {
      flowOutVehPerH: v.flowOutVehPerH,
      flowInVehPerH: v.flowInVehPerH,
      satOutVehPerH: v.satOutVehPerH,
      satInVehPerH: v.satInVehPerH,
      lanesOut: v.lanesOut,
      lanesIn: v.lanesIn,
      queueOutS: v.queueOutS,
      queueInS: v.queueInS,
    },
  };
}

const RESULT_HEADER = 14;

export interface CorridorResult {
  readonly solution: BandSolution;
  readonly before: Performance;
  readonly after: Performance;
  /** Band objective before the delay refinement (the band optimum, measured). */
  readonly bandObjectiveBefore: number;
}

/** Solves jobs with capacity that grows on demand; one per worker thread. */
export class CorridorJobRunner {
  private capacity = 0;
  private bands!: BandSolver;
  private refiner!: OffsetRefiner;
  private solution!: BandSolution;

  private ensure(n: number): void {
    if (n <= this.capacity) return;
    this.capacity = Math.max(n, 2 * this.capacity, 16);
    this.bands = new BandSolver(this.capacity);
    this.refiner = new OffsetRefiner(this.capacity);
    this.solution = allocateSolution(this.capacity);
  }

  solve(problem: BandProblem, traffic: CorridorTraffic, refine = true): CorridorResult {
    this.ensure(problem.n);
    const sol = this.bands.solve(problem, this.solution);
    const bandObjectiveBefore = sol.objective;
    const before: Performance = { delaySPerVeh: 0, stopsPerVeh: 0, index: 0 };
    const after = refine ? this.refiner.refine(problem, traffic, sol, this.bands, before) : Object.assign(before, this.refiner.evaluate(problem, traffic, sol));
    return { solution: sol, before, after, bandObjectiveBefore };
  }

  /** Worker entry: encoded job in, encoded result out. */
  run(job: Float64Array): Float64Array {
    const { problem, traffic } = decodeJob(job);
    return encodeResult(problem.n, this.solve(problem, traffic));
  }
}

export function encodeResult(n: number, r: CorridorResult): Float64Array {
  const s = r.solution;
  const out = new Float64Array(RESULT_HEADER + 4 * n - 2);
  out.set([RESULT_MAGIC, n, s.mode, s.bandOutS, s.bandInS, s.objective, s.twoWayTotalS, s.modelObjective, s.bandOutStartS, s.bandInStartS, r.before.delaySPerVeh, r.before.stopsPerVeh, r.after.delaySPerVeh, r.after.stopsPerVeh]);
  let at = RESULT_HEADER;
  for (let i = 0; i < n; i++) out[at++] = s.offsetS[i]!;
  for (let i = 0; i < n; i++) out[at++] = s.pattern[i]!;
  for (let i = 0; i < n - 1; i++) out[at++] = s.travelOutS[i]!;
  for (let i = 0; i < n - 1; i++) out[at++] = s.travelInS[i]!;
  return out;
}

export interface DecodedResult {
  mode: number;
  bandOutS: number;
  bandInS: number;
  objective: number;
  twoWayTotalS: number;
  modelObjective: number;
  bandOutStartS: number;
  bandInStartS: number;
  before: { delaySPerVeh: number; stopsPerVeh: number };
  after: { delaySPerVeh: number; stopsPerVeh: number };
  offsetS: Float64Array;
  pattern: Float64Array;
  travelOutS: Float64Array;
  travelInS: Float64Array;
}

export function decodeResult(buf: Float64Array): DecodedResult {
  if (buf[0] !== RESULT_MAGIC) throw new GreenwaveError(ErrorCode.Internal, 'not a greenwave corridor result');
  const n = buf[1]!;
  let at = RESULT_HEADER;
  const take = (len: number) => {
    const v = buf.subarray(at, at + len);
    at += len;
    return v;
  };
  return {
    mode: buf[2]!,
    bandOutS: buf[3]!,
    bandInS: buf[4]!,
    objective: buf[5]!,
    twoWayTotalS: buf[6]!,
    modelObjective: buf[7]!,
    bandOutStartS: buf[8]!,
    bandInStartS: buf[9]!,
    before: { delaySPerVeh: buf[10]!, stopsPerVeh: buf[11]! },
    after: { delaySPerVeh: buf[12]!, stopsPerVeh: buf[13]! },
    offsetS: take(n),
    pattern: take(n),
    travelOutS: take(n - 1),
    travelInS: take(n - 1),
  };
}
