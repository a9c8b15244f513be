/**
 * The actuated settings of the one cycle runner, double-buffered: the ones in force and the
 * ones queued for the next plan cycle zero (CONTROL_* per intersection, then minimum green,
 * passage, maximum green, coordinated flag and force-off per global phase). ActuatedPass
 * (./actuatedPass.ts) owns one and reads the in-force arrays in its decisions; the cycle
 * runner (./cycleRunner.ts, ./actuatedEntry.ts) queues settings, takes them at a plan cycle
 * zero and re-validates them against a plan about to run. Kept apart from the pass because settings change only at
 * those moments, never per step.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { ActuatedPlan } from '../timing/actuated.js';

/** An ActuatedPlan whose arrays can be pointed at either buffer (settingsOf). */
type SettingsView = { -readonly [K in keyof ActuatedPlan]: ActuatedPlan[K] };

export class ActuatedSettings {
  readonly c: CompiledNetwork;
  /** Settings in force: CONTROL_* per intersection, then per global phase. */
  readonly mode: Uint8Array;
  readonly minGreenS: Float64Array;
  readonly passageS: Float64Array;
  readonly maxGreenS: Float64Array;
  readonly coordinated: Uint8Array;
  readonly forceOffS: Float64Array;
  /** Settings queued for the next plan cycle zero. */
  readonly hasQueued: Uint8Array;
  private readonly qMode: Uint8Array;
  private readonly qMinGreenS: Float64Array;
  private readonly qPassageS: Float64Array;
  private readonly qMaxGreenS: Float64Array;
  private readonly qCoordinated: Uint8Array;
  private readonly qForceOffS: Float64Array;
  /** Returned by settingsOf: one object reused, so re-validation allocates no plan. */
  private readonly view: SettingsView = { mode: new Uint8Array(0), minGreenS: new Float64Array(0), passageS: new Float64Array(0), maxGreenS: new Float64Array(0), coordinated: new Uint8Array(0), forceOffS: new Float64Array(0) };

  constructor(c: CompiledNetwork) {
    this.c = c;
    const n = c.intersectionCount;
    const nP = c.phaseIds.length;
    this.mode = new Uint8Array(n);
    this.minGreenS = new Float64Array(nP);
    this.passageS = new Float64Array(nP);
    this.maxGreenS = new Float64Array(nP);
    this.coordinated = new Uint8Array(nP);
    this.forceOffS = new Float64Array(nP);
    this.hasQueued = new Uint8Array(n);
    this.qMode = new Uint8Array(n);
    this.qMinGreenS = new Float64Array(nP);
    this.qPassageS = new Float64Array(nP);
    this.qMaxGreenS = new Float64Array(nP);
    this.qCoordinated = new Uint8Array(nP);
    this.qForceOffS = new Float64Array(nP);
  }

  /** Queues `a`'s settings of intersection i (undefined: back to fixed time) for the next plan cycle zero. */
  queue(i: number, a: ActuatedPlan | undefined): void {
    const c = this.c;
    this.qMode[i] = a ? a.mode[i]! : 0;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      this.qMinGreenS[p] = a ? a.minGreenS[p]! : 0;
      this.qPassageS[p] = a ? a.passageS[p]! : 0;
      this.qMaxGreenS[p] = a ? a.maxGreenS[p]! : 0;
      this.qCoordinated[p] = a ? a.coordinated[p]! : 0;
      this.qForceOffS[p] = a ? a.forceOffS[p]! : Number.NaN;
    }
    this.hasQueued[i] = 1;
  }

  /** Makes the queued settings of i the ones in force. */
  takeQueued(i: number): void {
    if (this.hasQueued[i] === 0) return;
    const c = this.c;
    this.hasQueued[i] = 0;
    this.mode[i] = this.qMode[i]!;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      this.minGreenS[p] = this.qMinGreenS[p]!;
      this.passageS[p] = this.qPassageS[p]!;
      this.maxGreenS[p] = this.qMaxGreenS[p]!;
      this.coordinated[p] = this.qCoordinated[p]!;
      this.forceOffS[p] = this.qForceOffS[p]!;
    }
  }

  /**
   * The settings as an ActuatedPlan view (queued ones if `queued`), for re-validation against
   * another plan. The view is this object's own: valid until the next call.
   */
  settingsOf(queued: boolean): ActuatedPlan {
    const out = this.view;
    out.mode = queued ? this.qMode : this.mode;
    out.minGreenS = queued ? this.qMinGreenS : this.minGreenS;
    out.passageS = queued ? this.qPassageS : this.passageS;
    out.maxGreenS = queued ? this.qMaxGreenS : this.maxGreenS;
    out.coordinated = queued ? this.qCoordinated : this.coordinated;
    out.forceOffS = queued ? this.qForceOffS : this.forceOffS;
    return out;
  }

  /** The mode i will run after the next plan cycle zero. */
  nextMode(i: number): number {
    return this.hasQueued[i] === 1 ? this.qMode[i]! : this.mode[i]!;
  }

  /** Makes this an exact copy of `o` (same network). */
  copyFrom(o: ActuatedSettings): void {
    for (const k of ['mode', 'minGreenS', 'passageS', 'maxGreenS', 'coordinated', 'forceOffS', 'hasQueued', 'qMode', 'qMinGreenS', 'qPassageS', 'qMaxGreenS', 'qCoordinated', 'qForceOffS'] as const) {
      (this[k] as Float64Array).set(o[k] as Float64Array);
    }
  }
}
