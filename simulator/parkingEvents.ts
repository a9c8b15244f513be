/**
 * The parking search's events, for the mesoscopic model (./parkingSearch.ts) and the
 * microsimulator's search (./parking.ts): a binary min-heap of (time, kind, two integers)
 * ordered by time and then by insertion, so a run's order of events, and with it the run, is
 * fixed by its inputs. Typed arrays sized at construction; a push beyond the capacity doubles
 * them (the microsimulator sizes it so that it never does: no allocation per event there).
 */
export class EventQueue {
  private t: Float64Array;
  private seq: Float64Array;
  private kind: Uint8Array;
  private a: Int32Array;
  private b: Int32Array;
  private n = 0;
  private next = 0;

  /** `capacity`: the most events expected pending at once. */
  constructor(capacity: number) {
    const cap = Math.max(16, capacity);
    this.t = new Float64Array(cap);
    this.seq = new Float64Array(cap);
    this.kind = new Uint8Array(cap);
    this.a = new Int32Array(cap);
    this.b = new Int32Array(cap);
  }

  get size(): number {
    return this.n;
  }
  /** The first event's time, kind and integers (size > 0). */
  get firstT(): number {
    return this.t[0]!;
  }
  get firstKind(): number {
    return this.kind[0]!;
  }
  get firstA(): number {
    return this.a[0]!;
  }
  get firstB(): number {
    return this.b[0]!;
  }

  /** Adds an event; after any others of the same time. */
  push(t: number, kind: number, a: number, b = 0): void {
    if (this.n === this.t.length) this.grow();
    let i = this.n++;
    const seq = this.next++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.t[p]! < t || (this.t[p] === t && this.seq[p]! < seq)) break;
      this.set(i, this.t[p]!, this.seq[p]!, this.kind[p]!, this.a[p]!, this.b[p]!);
      i = p;
    }
    this.set(i, t, seq, kind, a, b);
  }

  /** Removes the first event. */
  pop(): void {
    const n = --this.n;
    const t = this.t[n]!;
    const seq = this.seq[n]!;
    const kind = this.kind[n]!;
    const a = this.a[n]!;
    const b = this.b[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (this.t[c + 1]! < this.t[c]! || (this.t[c + 1] === this.t[c] && this.seq[c + 1]! < this.seq[c]!))) c++;
      if (t < this.t[c]! || (t === this.t[c] && seq < this.seq[c]!)) break;
      this.set(i, this.t[c]!, this.seq[c]!, this.kind[c]!, this.a[c]!, this.b[c]!);
      i = c;
    }
    if (n > 0) this.set(i, t, seq, kind, a, b);
  }

  private set(i: number, t: number, seq: number, kind: number, a: number, b: number): void {
    this.t[i] = t;
    this.seq[i] = seq;
    this.kind[i] = kind;
    this.a[i] = a;
    this.b[i] = b;
  }

  private grow(): void {
    const cap = 2 * this.t.length;
    const t = new Float64Array(cap);
    t.set(this.t);
    this.t = t;
    const seq = new Float64Array(cap);
    seq.set(this.seq);
    this.seq = seq;
    const kind = new Uint8Array(cap);
    kind.set(this.kind);
    this.kind = kind;
    const a = new Int32Array(cap);
    a.set(this.a);
    this.a = a;
    const b = new Int32Array(cap);
    b.set(this.b);
    this.b = b;
  }
}
