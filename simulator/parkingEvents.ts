/**
 * The parking search's events (simulator/parking.ts): a binary min-heap of (time, kind, one
 * integer) ordered by time and then by insertion, in typed arrays sized once (no allocation
 * per event), so a run's order of events, and with it the run, is fixed by its inputs.
 */
import { ErrorCode, GreenwaveError } from '../engine/errors.js';

export class EventQueue {
  private readonly t: Float64Array;
  private readonly seq: Float64Array;
  private readonly kind: Uint8Array;
  private readonly a: Int32Array;
  private n = 0;
  private next = 0;

  /** `capacity`: the most events ever pending at once. */
  constructor(capacity: number) {
    this.t = new Float64Array(capacity);
    this.seq = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.a = new Int32Array(capacity);
  }

  get size(): number {
    return this.n;
  }
  /** The first event's time, kind and integer (size > 0). */
  get firstT(): number {
    return this.t[0]!;
  }
  get firstKind(): number {
    return this.kind[0]!;
  }
  get firstA(): number {
    return this.a[0]!;
  }

  /** Adds an event; after any others of the same time. */
  push(t: number, kind: number, a: number): void {
    if (this.n === this.t.length) throw new GreenwaveError(ErrorCode.Internal, `parking event queue full (${this.t.length})`);
    let i = this.n++;
    const seq = this.next++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.t[p]! < t || (this.t[p] === t && this.seq[p]! < seq)) break;
      this.t[i] = this.t[p]!;
      this.seq[i] = this.seq[p]!;
      this.kind[i] = this.kind[p]!;
      this.a[i] = this.a[p]!;
      i = p;
    }
    this.t[i] = t;
    this.seq[i] = seq;
    this.kind[i] = kind;
    this.a[i] = a;
  }

  /** Removes the first event. */
  pop(): void {
    const n = --this.n;
    const t = this.t[n]!;
    const seq = this.seq[n]!;
    const kind = this.kind[n]!;
    const a = this.a[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (this.t[c + 1]! < this.t[c]! || (this.t[c + 1] === this.t[c] && this.seq[c + 1]! < this.seq[c]!))) c++;
      if (t < this.t[c]! || (t === this.t[c] && seq < this.seq[c]!)) break;
      this.t[i] = this.t[c]!;
      this.seq[i] = this.seq[c]!;
      this.kind[i] = this.kind[c]!;
      this.a[i] = this.a[c]!;
      i = c;
    }
    if (n > 0) {
      this.t[i] = t;
      this.seq[i] = seq;
      this.kind[i] = kind;
      this.a[i] = a;
    }
  }
}
