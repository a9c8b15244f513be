/**
 * Synthetic high-resolution event logs for bench/events: N controllers, each running eight
 * phases in sequence (cycle 80–120 s, per controller) with the Indiana phase edges
 * (1 begin green; 4/5/6 termination + 8 begin yellow; 9 + 10; 11), and sixteen detector
 * channels with vehicles arriving at random (82 on, 81 off 0.2–0.6 s later). The vehicle
 * rate is set so that a controller logs `eventsPerS` events per second on average (about
 * 20: what a busy field controller writes). Timestamps follow the clock the caller passes
 * (real time in the benchmark), rounded to 0.1 s like the Indiana logs. Typed-array state,
 * one object per event emitted (the storage takes objects).
 */
import type { ControllerEvent } from '../../service/storage/storage.js';
import { mulberry32 } from '../../engine/numeric.js';

const PHASES = 8;
const DETECTORS = 16;
const YELLOW_MS = 4000;
const RED_CLEAR_MS = 2000;
/** Phase events per phase per cycle: 1, termination, 8, 9, 10, 11. */
const PHASE_EVENTS_PER_CYCLE = 6;

export class EventGenerator {
  readonly ids: string[];
  private readonly cycleMs: Float64Array;
  private readonly phase: Int8Array;
  /** 0 green, 1 yellow, 2 red clearance: the interval the current phase is in, and when it ends. */
  private readonly interval: Int8Array;
  private readonly intervalEndMs: Float64Array;
  private readonly nextArrivalMs: Float64Array;
  private readonly vehiclesPerMs: number;
  /** Per controller and detector: when its 81 is due (NaN: none pending). */
  private readonly offDueMs: Float64Array;
  private readonly random: () => number;

  constructor(
    readonly controllers: number,
    eventsPerS: number,
    startMs: number,
    seed = 1,
  ) {
    this.random = mulberry32(seed);
    this.ids = Array.from({ length: controllers }, (_, k) => `C${String(k + 1).padStart(4, '0')}`);
    this.cycleMs = Float64Array.from({ length: controllers }, () => 80_000 + Math.round(this.random() * 40) * 1000);
    this.phase = new Int8Array(controllers);
    this.interval = new Int8Array(controllers);
    this.intervalEndMs = new Float64Array(controllers);
    this.nextArrivalMs = new Float64Array(controllers);
    this.offDueMs = new Float64Array(controllers * DETECTORS).fill(Number.NaN);
    // Phase events per second at the mean cycle (100 s); vehicles make up the rest, two events each.
    const phasePerS = (PHASES * PHASE_EVENTS_PER_CYCLE) / 100;
    this.vehiclesPerMs = Math.max(0, (eventsPerS - phasePerS) / 2) / 1000;
    for (let k = 0; k < controllers; k++) {
      this.phase[k] = Math.floor(this.random() * PHASES);
      this.intervalEndMs[k] = startMs + this.random() * this.greenMs(k);
      this.nextArrivalMs[k] = startMs + this.exp();
    }
  }

  private greenMs(k: number): number {
    return this.cycleMs[k]! / PHASES - YELLOW_MS - RED_CLEAR_MS;
  }

  private exp(): number {
    return -Math.log(1 - this.random()) / this.vehiclesPerMs;
  }

  /** Every event of every controller up to `nowMs`, in time order per controller, into `out`. */
  emitUntil(nowMs: number, out: ControllerEvent[]): void {
    const ts = (ms: number): number => Math.round(ms / 100) * 100;
    for (let k = 0; k < this.controllers; k++) {
      const id = this.ids[k]!;
      for (;;) {
        const edge = this.intervalEndMs[k]!;
        const arrival = this.nextArrivalMs[k]!;
        let off = Number.NaN;
        let offDet = -1;
        for (let d = 0; d < DETECTORS; d++) {
          const due = this.offDueMs[k * DETECTORS + d]!;
          if (due <= nowMs && !(due >= off)) {
            off = due;
            offDet = d;
          }
        }
        const next = Math.min(edge, arrival, offDet >= 0 ? off : Infinity);
        if (next > nowMs) break;
        if (offDet >= 0 && off === next) {
          out.push({ locationId: id, timestampMs: ts(off), eventCode: 81, eventParam: offDet + 1 });
          this.offDueMs[k * DETECTORS + offDet] = Number.NaN;
        } else if (arrival === next) {
          const d = Math.floor(this.random() * DETECTORS);
          const slot = k * DETECTORS + d;
          if (!Number.isNaN(this.offDueMs[slot]!)) out.push({ locationId: id, timestampMs: ts(arrival), eventCode: 81, eventParam: d + 1 });
          out.push({ locationId: id, timestampMs: ts(arrival), eventCode: 82, eventParam: d + 1 });
          this.offDueMs[slot] = arrival + 200 + this.random() * 400;
          this.nextArrivalMs[k] = arrival + this.exp();
        } else {
          const p = this.phase[k]! + 1;
          const t = ts(edge);
          const iv = this.interval[k]!;
          if (iv === 0) {
            out.push({ locationId: id, timestampMs: t, eventCode: 4 + Math.floor(this.random() * 3), eventParam: p });
            out.push({ locationId: id, timestampMs: t, eventCode: 8, eventParam: p });
            this.interval[k] = 1;
            this.intervalEndMs[k] = edge + YELLOW_MS;
          } else if (iv === 1) {
            out.push({ locationId: id, timestampMs: t, eventCode: 9, eventParam: p });
            out.push({ locationId: id, timestampMs: t, eventCode: 10, eventParam: p });
            this.interval[k] = 2;
            this.intervalEndMs[k] = edge + RED_CLEAR_MS;
          } else {
            out.push({ locationId: id, timestampMs: t, eventCode: 11, eventParam: p });
            const np = (this.phase[k]! + 1) % PHASES;
            this.phase[k] = np;
            out.push({ locationId: id, timestampMs: t, eventCode: 1, eventParam: np + 1 });
            this.interval[k] = 0;
            this.intervalEndMs[k] = edge + this.greenMs(k);
          }
        }
      }
    }
  }
}
