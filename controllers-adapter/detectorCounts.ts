/**
 * Turns detector polls from many controllers into the engine's interval
 * counts (DetectorCounts), so loop data reaches the planner the same way a
 * counts file does. A poll that reports lost latches (sequence gap) or a
 * controller restart marks that controller's detectors missing for the
 * interval (NaN): the engine's fault cleaning then substitutes them and says
 * so, instead of planning on an undercount. Called by whoever polls (the
 * service loop, tests, benchmarks).
 */
import type { DetectorCounts } from '../engine/counts/csv.js';
import type { DetectorPoll } from './modbus/client.js';

export class DetectorCountAccumulator {
  private readonly index: Map<string, number>;
  private volume: Float64Array;
  private occupancySum: Float64Array;
  private polls: Float64Array;
  private lost: Uint8Array;
  private readonly rows: { startMs: number; volume: Float64Array; occupancy: Float64Array }[] = [];
  /** Gaps seen, for reports: unit id → latches lost (or -1 for a restart). */
  readonly gaps: { unitId: number; missedPolls: number; restarted: boolean }[] = [];

  constructor(
    readonly detectorIds: readonly string[],
    readonly intervalS: number,
  ) {
    this.index = new Map(detectorIds.map((id, k) => [id, k]));
    const n = detectorIds.length;
    this.volume = new Float64Array(n);
    this.occupancySum = new Float64Array(n);
    this.polls = new Float64Array(n);
    this.lost = new Uint8Array(n);
  }

  /** Adds one poll; detectors the network does not know are ignored. */
  add(poll: DetectorPoll): void {
    const gap = poll.missedPolls > 0 || poll.restarted;
    if (gap) this.gaps.push({ unitId: poll.unitId, missedPolls: poll.missedPolls, restarted: poll.restarted });
    poll.detectorIds.forEach((id, k) => {
      const d = this.index.get(id);
      if (d === undefined) return;
      if (gap) this.lost[d] = 1;
      this.volume[d] = this.volume[d]! + (poll.volumes[k] ?? 0);
      this.occupancySum[d] = this.occupancySum[d]! + (poll.occupancyPct[k] ?? 0);
      this.polls[d] = this.polls[d]! + 1;
    });
  }

  /** Closes the interval that started at `startMs`: detectors never polled or with a gap become missing. */
  closeInterval(startMs: number): void {
    const n = this.detectorIds.length;
    const volume = new Float64Array(n);
    const occupancy = new Float64Array(n);
    for (let d = 0; d < n; d++) {
      const missing = this.polls[d] === 0 || this.lost[d] === 1;
      volume[d] = missing ? Number.NaN : this.volume[d]!;
      occupancy[d] = missing ? Number.NaN : this.occupancySum[d]! / this.polls[d]!;
    }
    this.rows.push({ startMs, volume, occupancy });
    this.volume = new Float64Array(n);
    this.occupancySum = new Float64Array(n);
    this.polls = new Float64Array(n);
    this.lost = new Uint8Array(n);
  }

  /** Every closed interval, in the engine's dense layout. */
  counts(): DetectorCounts {
    const n = this.detectorIds.length;
    const volumeVeh = new Float64Array(this.rows.length * n);
    const occupancyPct = new Float64Array(this.rows.length * n);
    this.rows.forEach((r, t) => {
      volumeVeh.set(r.volume, t * n);
      occupancyPct.set(r.occupancy, t * n);
    });
    return { detectorIds: this.detectorIds, intervalS: this.intervalS, intervalStartMs: Float64Array.from(this.rows, (r) => r.startMs), volumeVeh, occupancyPct };
  }
}
