/**
 * A node's re-plan of the regions it holds: the latest detector counts each held region
 * received on its inbox (regionBus.ts, subject `gw.region.<region>.detector[.<signal>]`), the
 * engine planner over the region's own network (engine/cluster/regionNetwork.ts), and the
 * result committed as the region's plan (regionPlans.ts), which the region's driver then rolls
 * out to its controllers (regionDriver.ts). Called by nodeMain.ts (--ingest): a re-plan is
 * asked of every node at once with a message on `gw.cluster.replan` (bench/cluster does), each
 * node re-plans what it holds then and answers with what it did.
 *
 * A detector message is JSON `{"v": {"<detector id>": vehicles, …}}`: vehicles counted over the
 * re-plan interval (default 900 s) by each named detector of the region; the latest count of a
 * detector replaces the one before. Detectors never heard from count 0. A message naming a
 * detector outside the region is counted as ignored, not an error (a publisher's mistake must
 * not stop the region's inbox).
 *
 * Only the region's holder commits its plan, and only while it holds the region (checked just
 * before each commit). Commits are pipelined, a few at a time; one that fails (a JetStream
 * timeout) is reported, not repeated: a repeat could store the plan twice under two revisions,
 * and so two wire ids for one plan. The planner runs on the node's event loop, one region at a time with a
 * turn of the loop between regions, so that lease renewals (lease.ts) are not held up by a
 * whole batch; a coordinated re-plan (corridor bands and cycle search) of a region of 240
 * signals takes seconds, an isolated one (each signal on its own) tens of ms.
 */
import type { KV } from 'nats';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { planNetwork } from '../../engine/plan.js';
import { deployableBody } from '../deployer.js';
import { commitRegionPlan } from './regionPlans.js';

export const REPLAN_SUBJECT = 'gw.cluster.replan';
const COMMITS_IN_FLIGHT = 4;

/** What a re-plan request may set. */
export interface ReplanRequest {
  /** The interval the counts cover, s (default 900). */
  readonly intervalS?: number;
  /** The plan's label, "HH:MM" (default "00:00"). */
  readonly forInterval?: string;
  /** Corridor coordination (bands, cycle search) on, as the planner's default; false plans each signal alone. */
  readonly coordinate?: boolean;
}

/** A node's answer to a re-plan request. */
export interface ReplanReply {
  readonly node: string;
  /** Regions planned and committed. */
  readonly committed: number;
  /** Regions given up: lost meanwhile, or the planner or the commit failed (reasons in `errors`). */
  readonly skipped: number;
  readonly errors: readonly string[];
  /** Time spent in the planner, ms. */
  readonly planMs: number;
  /** From the request's arrival to the last commit stored, ms. */
  readonly ms: number;
  /** Bytes of the largest committed value. */
  readonly maxValueBytes: number;
}

/** The latest detector counts of each region, from its inbox. */
export class RegionCounts {
  private readonly volumes = new Map<string, Float64Array>();
  private readonly index = new Map<string, Map<string, number>>();
  messages = 0;
  values = 0;
  ignored = 0;

  constructor(private readonly networks: ReadonlyMap<string, CompiledNetwork>) {}

  /** Takes one detector message for `regionId`; returns the counts taken from it. */
  ingest(regionId: string, data: Uint8Array): number {
    const c = this.networks.get(regionId);
    if (!c) return 0;
    let v = this.volumes.get(regionId);
    let at = this.index.get(regionId);
    if (!v || !at) {
      v = new Float64Array(c.detectorIds.length);
      at = new Map(c.detectorIds.map((id, k) => [id, k]));
      this.volumes.set(regionId, v);
      this.index.set(regionId, at);
    }
    this.messages++;
    let taken = 0;
    let body: { v?: Record<string, unknown> };
    try {
      body = JSON.parse(new TextDecoder().decode(data)) as { v?: Record<string, unknown> };
    } catch {
      this.ignored++;
      return 0;
    }
    for (const [id, n] of Object.entries(body.v ?? {})) {
      const k = at.get(id);
      if (k === undefined || typeof n !== 'number' || !(n >= 0)) {
        this.ignored++;
        continue;
      }
      v[k] = n;
      taken++;
    }
    this.values += taken;
    return taken;
  }

  /** The region's latest counts (zeros where never heard from). */
  of(regionId: string): Float64Array {
    return this.volumes.get(regionId) ?? new Float64Array(this.networks.get(regionId)?.detectorIds.length ?? 0);
  }
}

/** Re-plans each of `regions` still held, from its latest counts, and commits each plan. */
export async function replanRegions(opts: {
  readonly nodeId: string;
  readonly regions: readonly string[];
  readonly networks: ReadonlyMap<string, CompiledNetwork>;
  readonly counts: RegionCounts;
  readonly plans: KV;
  readonly holds: (regionId: string) => boolean;
  readonly request: ReplanRequest;
}): Promise<ReplanReply> {
  const t0 = Date.now();
  const intervalS = opts.request.intervalS ?? 900;
  const forInterval = opts.request.forInterval ?? '00:00';
  const errors: string[] = [];
  // At most COMMITS_IN_FLIGHT commits wait for JetStream at once: a whole node's regions
  // (~140 KB each, replicated) sent together timed out on the loaded 2-core machine.
  const commits = new Set<Promise<void>>();
  let planMs = 0;
  let committed = 0;
  let maxValueBytes = 0;
  for (const r of opts.regions) {
    // A turn of the event loop between regions: lease renewals and inbox reads go on.
    await new Promise((res) => setImmediate(res));
    const c = opts.networks.get(r);
    if (!c || !opts.holds(r)) {
      errors.push(`${r}: not held`);
      continue;
    }
    try {
      const tp = Date.now();
      const p = planNetwork(c, opts.counts.of(r), intervalS, { coordinate: opts.request.coordinate ?? true });
      const body = deployableBody(c, p.buffer, p.corridors, forInterval);
      planMs += Date.now() - tp;
      if (!opts.holds(r)) {
        errors.push(`${r}: lost while planning`);
        continue;
      }
      maxValueBytes = Math.max(maxValueBytes, JSON.stringify(body).length);
      const commit = commitRegionPlan(opts.plans, r, body).then(
        () => void committed++,
        (e: unknown) => void errors.push(`${r}: commit: ${e instanceof Error ? e.message : String(e)}`),
      );
      commits.add(commit);
      void commit.then(() => commits.delete(commit));
      while (commits.size >= COMMITS_IN_FLIGHT) await Promise.race(commits);
    } catch (e: unknown) {
      errors.push(`${r}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  await Promise.all([...commits]);
  return { node: opts.nodeId, committed, skipped: opts.regions.length - committed, errors: errors.slice(0, 5), planMs, ms: Date.now() - t0, maxValueBytes };
}
