/**
 * Car-park gate loops read through the signal controllers' detector polls:
 * the parking file's `carParks[].gates` name network detectors (a loop at a
 * car-park entrance or exit wired to a detector input of a nearby signal
 * controller and declared in the network file as that intersection's
 * detector), and every whole count interval the CountCollector
 * (./countCollector.ts) reads is turned into one GateCounts per car park
 * (entries = the sum over its entry loops, exits over its exit loops) for the
 * occupancy tracker (engine/parking/occupancy.ts `addCounts`). Wired by
 * startServer (./server.ts) when the service has controllers and a parking
 * file with gates.
 *
 * A car park any of whose gate loops is missing from an interval (its
 * controller unreachable, restarted, or latched by another master) gets no
 * counts for it: half its gates would be a wrong net flow. The interval is then
 * lost as drift is (docs/parking.md, "Gate counts"), and the next absolute
 * report corrects the estimate and logs the correction.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { GateCounts } from '../engine/parking/occupancy.js';
import type { OccupancyFeed } from '../engine/parking/source.js';
import type { DetectorCount } from './storage/storage.js';
import type { ParkingGuidance } from './parkingState.js';

/** A feed that takes gate counts (the TrackedOccupancySource does). */
export type GateCountFeed = OccupancyFeed & { addCounts(carPark: number, counts: GateCounts): void };

export function takesGateCounts(feed: OccupancyFeed): feed is GateCountFeed {
  return typeof (feed as Partial<GateCountFeed>).addCounts === 'function';
}

export class ParkingGates {
  /** Car parks with gates, and per car park its loops' detector ids and signs (+1 entries, −1 exits). */
  private readonly parks: { k: number; detectorIds: string[]; signs: number[] }[] = [];
  /** Intervals applied, car-park intervals skipped for a missing loop, and refused by the tracker. */
  readonly stats = { applied: 0, skipped: 0, refused: 0 };

  constructor(
    private readonly guidance: ParkingGuidance,
    c: CompiledNetwork,
    private readonly log?: (line: string) => void,
  ) {
    const p = guidance.parking;
    for (let g = 0; g < p.gateDetector.length; g++) {
      const k = p.gateCarPark[g]!;
      let park = this.parks.find((x) => x.k === k);
      if (!park) {
        park = { k, detectorIds: [], signs: [] };
        this.parks.push(park);
      }
      park.detectorIds.push(c.detectorIds[p.gateDetector[g]!]!);
      park.signs.push(p.gateSign[g]!);
    }
  }

  /** Has the parking file any gate loop? */
  get any(): boolean {
    return this.parks.length > 0;
  }

  /** One whole interval's counts (CountCollector's onCounts). */
  apply(rows: readonly DetectorCount[], interval: { startMs: number; intervalS: number }): void {
    const feed = this.guidance.feed;
    if (!takesGateCounts(feed)) return;
    const volume = new Map<string, number>();
    for (const r of rows) volume.set(r.detectorId, r.volumeVeh);
    for (const park of this.parks) {
      let entries = 0;
      let exits = 0;
      let missing = false;
      park.detectorIds.forEach((d, j) => {
        const v = volume.get(d);
        if (v === undefined || !Number.isFinite(v)) missing = true;
        else if (park.signs[j]! > 0) entries += v;
        else exits += v;
      });
      if (missing) {
        this.stats.skipped++;
        continue;
      }
      try {
        feed.addCounts(park.k, { fromMs: interval.startMs, toMs: interval.startMs + interval.intervalS * 1000, entries, exits });
        this.stats.applied++;
      } catch (e: unknown) {
        this.stats.refused++;
        this.log?.(`greenwave serve: gate counts of car park ${this.guidance.parking.carParkIds[park.k]} refused: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
