/**
 * The review of a proposed plan against the plan it would replace: the diff
 * per intersection and phase (./diff.ts), the green-wave bands of both as they
 * stand (engine/corridor/measureBands.ts), and both run in the microsimulator
 * on the proposed plan's demand with the same seeds (simulator/beforeAfter.ts)
 * for delay, stops and throughput. The simulation runs on a worker thread
 * (service/reviewWorker.ts), one review at a time; a second review of the same
 * pair joins the first. Called by the plan lifecycle (./lifecycle.ts).
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { WorkerPool } from '../../engine/pool/pool.js';
import { measurePlanBands, type MeasuredBand } from '../../engine/corridor/measureBands.js';
import { encodePlan } from '../planWire.js';
import { serviceWorkerUrl } from '../workerUrl.js';
import { diffPlans, type IntersectionDiff } from './diff.js';

export interface ReviewOptions {
  /** Simulated time per run, s (default 1800). */
  readonly durationS?: number;
  /** Seeds, the same for both plans (default [1, 2]). */
  readonly seeds?: readonly number[];
}

export interface SimulatedSide {
  readonly meanDelayS: number;
  readonly stopsPerVeh: number;
  readonly throughputVehPerH: number;
  /** Per intersection id: mean approach delay, s. */
  readonly intersectionDelayS: Readonly<Record<string, number>>;
}

export interface PlanReview {
  readonly diff: readonly IntersectionDiff[];
  readonly bands: { readonly before: readonly MeasuredBand[]; readonly after: readonly MeasuredBand[] };
  readonly simulated: { readonly before: SimulatedSide; readonly after: SimulatedSide; readonly durationS: number; readonly seeds: readonly number[] };
}

export class Reviewer {
  private pool: WorkerPool | undefined;
  private readonly pending = new Map<string, Promise<PlanReview>>();

  constructor(
    private readonly c: CompiledNetwork,
    private readonly source: { readonly networkPath: string; readonly networkText: string },
    private readonly opts: ReviewOptions = {},
  ) {}

  /** Reviews `after` against `before`; `key` names the pair (e.g. "12>15") so that concurrent reviews of it share one run. */
  review(key: string, before: PlanBuffer, after: PlanBuffer): Promise<PlanReview> {
    const running = this.pending.get(key);
    if (running) return running;
    const p = this.run(before, after);
    this.pending.set(key, p);
    const forget = (): void => {
      this.pending.delete(key);
    };
    p.then(forget, forget);
    return p;
  }

  private async run(before: PlanBuffer, after: PlanBuffer): Promise<PlanReview> {
    const durationS = this.opts.durationS ?? 1800;
    const seeds = this.opts.seeds ?? [1, 2];
    const a = encodePlan(this.c, before, [], '');
    const b = encodePlan(this.c, after, [], '');
    const input = Float64Array.of(durationS, seeds.length, ...seeds, a.length, ...a, b.length, ...b);
    this.pool ??= new WorkerPool({ workerUrl: serviceWorkerUrl('reviewWorker'), size: 1, maxRetries: 0, workerData: this.source });
    const out = await this.pool.run(input);
    const n = this.c.intersectionCount;
    const side = (at: number): SimulatedSide => ({
      meanDelayS: out[at]!,
      stopsPerVeh: out[at + 1]!,
      throughputVehPerH: out[at + 2]!,
      intersectionDelayS: Object.fromEntries(this.c.intersectionIds.map((id, i) => [id, out[at + 3 + i]!])),
    });
    return {
      diff: diffPlans(this.c, before, after),
      bands: { before: measurePlanBands(this.c, before), after: measurePlanBands(this.c, after) },
      simulated: { before: side(0), after: side(3 + n), durationS, seeds },
    };
  }

  close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    return p ? p.destroy() : Promise.resolve();
  }
}
