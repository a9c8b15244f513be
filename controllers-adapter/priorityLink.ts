/**
 * Carries transit-priority decisions to the field. The engine's TSP controller
 * (engine/priority/tsp.ts) keeps each intersection's schedule: the base plan,
 * or adjusted cycles after a grant (an extension or early green, then the
 * compensation cycles that bring the cycle back to its offset). This link
 * sends those adjusted cycles to the intersection's controller as priority
 * overrides over Modbus (`ControllerClient.pushOverride`, commit values 2/3 of
 * the register map): the running cycle as soon as it changes, and each
 * following adjusted cycle before it begins. A withdrawn grant is sent the
 * same way (the reverted cycle). The controller re-checks every override
 * against what it has already timed and its own safety validator.
 *
 * Fencing: a cluster node passes `mayWrite` (its lease check for the intersection's region,
 * service/cluster/front.ts); when it says no, nothing is sent and the refusal is recorded in
 * `failures`, as a controller's would be.
 *
 * Called by whoever owns the TSP controller (the gRPC service, a cluster node, a test): after
 * every decision that may have changed an intersection's schedule, and about
 * once a second so that the next adjusted cycle is staged in time.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { createPlanBuffer, type PlanBuffer } from '../engine/timing/planner.js';
import type { TspController } from '../engine/priority/tsp.js';
import type { CycleLayout } from '../engine/priority/layout.js';
import type { ControllerClient } from './modbus/client.js';

/** Override ids count from here, apart from plan ids (which count up from 1). */
const OVERRIDE_ID_BASE = 0x8000;

interface Sent {
  revision: number;
  /** Start of the cycle last sent as 'now', and as 'next' (NaN: none). */
  nowStartS: number;
  nextStartS: number;
}

export interface SyncReport {
  /** Overrides sent in this call. */
  readonly sent: ReadonlyArray<{ readonly when: 'now' | 'next'; readonly cycleStartS: number; readonly overrideId: number }>;
}

export class PriorityLink {
  private readonly sent = new Map<number, Sent>();
  private readonly queue = new Map<number, Promise<void>>();
  private readonly scratch: PlanBuffer;
  private nextId = 0;
  /** Overrides the controllers refused or could not be reached for, with why (for status pages and tests). */
  readonly failures: string[] = [];

  constructor(
    private readonly c: CompiledNetwork,
    private readonly tsp: TspController,
    private readonly client: ControllerClient,
    /** Modbus unit id of an intersection's controller; undefined = not connected. */
    private readonly unitOf: (intersection: number) => number | undefined,
    /** Asked before every override written (and again on a retry); false: not written. */
    private readonly mayWrite?: () => boolean,
  ) {
    this.scratch = createPlanBuffer(c);
    // The schedule as it stands now is what the controllers already run (the base plan).
    for (let i = 0; i < c.intersectionCount; i++) this.sent.set(i, { revision: tsp.revision[i]!, nowStartS: Number.NaN, nextStartS: Number.NaN });
  }

  /**
   * Brings intersection i's controller in line with the schedule at `nowS`: sends the running
   * cycle if the schedule changed it, and the next cycle if it is adjusted (or was, and no
   * longer is). Never throws for a controller's refusal: it is recorded in `failures`.
   */
  sync(i: number, nowS: number): Promise<SyncReport> {
    // One sync at a time per intersection: two in flight could both send the same cycle.
    const run = (this.queue.get(i) ?? Promise.resolve()).then(() => this.syncOnce(i, nowS));
    this.queue.set(
      i,
      run.then(
        () => undefined,
        () => undefined,
      ),
    );
    return run;
  }

  private async syncOnce(i: number, nowS: number): Promise<SyncReport> {
    const unit = this.unitOf(i);
    if (unit === undefined) return { sent: [] };
    const tsp = this.tsp;
    const revision = tsp.revision[i]!;
    const memo = this.sent.get(i)!;
    const changed = memo.revision !== revision;
    memo.revision = revision;
    const cur = tsp.cycleAt(i, nowS);
    const nextStartS = cur.startS + cur.layout.cycleS;
    // Just past the boundary, so the lookup lands in the next cycle whatever the rounding.
    const next = tsp.cycleAt(i, nextStartS + 1e-6);
    const sent: { when: 'now' | 'next'; cycleStartS: number; overrideId: number }[] = [];
    const send = async (when: 'now' | 'next', layout: CycleLayout, cycleStartS: number): Promise<boolean> => {
      const overrideId = OVERRIDE_ID_BASE + (this.nextId++ % 0x7fff);
      this.toPlan(i, layout);
      try {
        await this.client.pushOverride(unit, this.scratch, when, overrideId, this.mayWrite ? { mayWrite: this.mayWrite } : {});
        sent.push({ when, cycleStartS, overrideId });
        return true;
      } catch (e: unknown) {
        this.failures.push(`${this.c.intersectionIds[i]} ${when} override for the cycle at ${cycleStartS} s: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
    };
    // The running cycle: when the schedule changed it, or reverted one we had sent.
    if (changed && (cur.adjusted || memo.nowStartS === cur.startS)) {
      if (await send('now', cur.layout, cur.startS)) memo.nowStartS = cur.startS;
    }
    // The next cycle: adjusted and not yet sent as it stands, or sent earlier and now reverted.
    const nextSent = memo.nextStartS === nextStartS;
    if ((next.adjusted && (!nextSent || changed)) || (!next.adjusted && nextSent && changed)) {
      if (await send('next', next.layout, nextStartS)) memo.nextStartS = nextStartS;
    }
    // A cycle that began as a staged 'next' is now the running one.
    if (memo.nextStartS === cur.startS) memo.nowStartS = cur.startS;
    return { sent };
  }

  /** One cycle layout of intersection i as a plan (offset 0: an override is timed from its own start). */
  private toPlan(i: number, layout: CycleLayout): void {
    const p0 = this.c.phaseStart[i]!;
    const b = this.scratch;
    b.cycleS[i] = layout.cycleS;
    b.offsetS[i] = 0;
    for (let k = 0; k < layout.greenS.length; k++) {
      b.phaseStartS[p0 + k] = layout.startS[k]!;
      b.phaseGreenS[p0 + k] = layout.greenS[k]!;
      b.phaseYellowS[p0 + k] = layout.yellowS[k]!;
      b.phaseAllRedS[p0 + k] = layout.allRedS[k]!;
    }
  }
}
