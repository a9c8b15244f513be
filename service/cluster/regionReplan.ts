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
 *
 * Across region borders (engine/cluster/borders.ts, docs/cluster.md): a coordinated re-plan of
 * a region with border links reads the latest border states of its border component from the
 * bucket `greenwave-borders` (borderStates.ts), plans the region at the component's common
 * cycle with its border systems shifted to continue the leaders' bands, commits the plan and
 * then publishes the region's own state. One request is one round; a follow-up request
 * (`followUp`) re-plans only the regions whose neighbours' states changed since, on the counts
 * of their last plan, and `replanUntilSettled` sends rounds until no state changes.
  */
import { createHash } from 'node:crypto';
import { createInbox, type KV, type NatsConnection, type Subscription } from 'nats';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { planNetwork } from '../../engine/plan.js';
import { MIN_HEALTHY_SHARE } from '../../engine/counts/blackout.js';
import { CHATTER_VEH_PER_H_PER_LANE } from '../../engine/counts/faults.js';
import { planRegionAtBorders, type BorderState, type RegionBorders } from '../../engine/cluster/borders.js';
import { deployableBody } from '../deployer.js';
import { commitRegionPlan, readRegionPlan } from './regionPlans.js';
import { borderStateKey, publishBorderState, readBorderStates } from './borderStates.js';

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
  /**
   * A follow-up round of coordination across borders: re-plan only the held regions with
   * border links whose neighbours' states changed since this node last planned them, on the
   * counts of that plan (so that a whole round of re-plans converges on one set of counts).
   */
  readonly followUp?: boolean;
}

/** What a node's re-plan did at region borders. */
export interface BorderFigures {
  /** Held regions with border links planned with their neighbours' states. */
  readonly planned: number;
  /** Of those, regions whose published state differs from the one before (0 in every reply: settled). */
  readonly changed: number;
  /** Follow-up only: regions left as they were (their neighbours' states unchanged). */
  readonly unchanged: number;
  /** Regions planned again whose plan came out as the one committed: not committed again (no new revision, no rollout). */
  readonly kept: number;
  /** Regions planned a second time at the component's common cycle. */
  readonly atCommonCycle: number;
  /** Border links followed, and those still waiting for a leader's state at the common cycle. */
  readonly followed: number;
  readonly waiting: number;
  /** Band over the followed links, s, summed over the regions; and without the shifts. */
  readonly bandS: number;
  readonly bandBeforeS: number;
}

/** A node's answer to a re-plan request. */
export interface ReplanReply {
  readonly node: string;
  /** Regions planned and committed. */
  readonly committed: number;
  /** Regions given up: lost meanwhile, or the planner or the commit failed (reasons in `errors`). */
  readonly skipped: number;
  readonly errors: readonly string[];
  /** Per region planned, the detectors whose counts were not used and what was taken instead (`RegionCounts.usable`). */
  readonly repaired?: readonly string[];
  /** Time spent in the planner, ms. */
  readonly planMs: number;
  /** From the request's arrival to the last commit stored, ms. */
  readonly ms: number;
  /** Bytes of the largest committed value. */
  readonly maxValueBytes: number;
  /** With border coordination (a node given the partition's borders and a coordinated re-plan). */
  readonly border?: BorderFigures;
}

/**
 * A node's memory of its last border plan of each region it holds: the inputs, the counts,
 * the state published and the plan committed. Forget a region when its lease is lost (another
 * holder may commit meanwhile): `forget`.
 */
export class BorderMemory {
  forget(regionId: string): void {
    this.last.delete(regionId);
  }

  readonly last = new Map<string, { inputs: string; needCycleS: number; volumes: Float64Array; state: string; planHash: string; revision: number }>();
}

/** A committed plan's identity for comparing re-plans: its label and wire bytes, hashed. */
const planHash = (body: { forInterval: string; wire: string }): string => createHash('sha256').update(body.forInterval).update('\u0000').update(body.wire).digest('base64');

/** Border coordination for a node's re-plans: the partition's borders, the state bucket, the node's memory. */
export interface BorderContext {
  readonly of: ReadonlyMap<string, RegionBorders>;
  readonly kv: KV;
  readonly memory: BorderMemory;
}

/**
 * What a region's border plan depends on besides its counts: the common cycle (from its own
 * need and its component's) and the leaders' windows it follows. A neighbour's need that does
 * not change the common cycle changes nothing, and is no reason to plan again.
 */
export function borderInputs(b: RegionBorders, states: ReadonlyMap<string, BorderState>, ownNeedCycleS: number): string {
  let cycleS = ownNeedCycleS;
  for (const r of b.component) if (r !== b.regionId) cycleS = Math.max(cycleS, states.get(r)?.needCycleS ?? 0);
  const followed = b.ends.filter((e) => !e.leads).map((e) => states.get(e.otherRegion)?.windows.find((w) => w.linkId === e.linkId) ?? null);
  return JSON.stringify({ cycleS, followed });
}

/**
 * A detector not heard from for this many count intervals is not healthy: an intersection with
 * fewer than MIN_HEALTHY_SHARE of its detectors healthy is blacked out (engine/counts/blackout.ts's
 * rule) and its region is not re-planned.
 */
export const STALE_INTERVALS = 2;

/** The latest detector counts of each region, from its inbox, and when each detector was last heard from. */
export class RegionCounts {
  private readonly volumes = new Map<string, Float64Array>();
  private readonly heardMs = new Map<string, Float64Array>();
  private readonly index = new Map<string, Map<string, number>>();
  messages = 0;
  values = 0;
  ignored = 0;

  constructor(
    private readonly networks: ReadonlyMap<string, CompiledNetwork>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The counts to plan the region on for an interval of `intervalS`, by the engine's rules for
   * detector data (engine/counts/): a detector is healthy when it was heard from within the last
   * `staleAfterMs` and its count is plausible (at most CHATTER_VEH_PER_H_PER_LANE over the
   * interval, the chatter fault's bound). An intersection with fewer than MIN_HEALTHY_SHARE of
   * its detectors healthy is blacked out (`dark`, as "I7 (1 of 6 detectors)"): nothing is to be
   * planned for it. Elsewhere an unhealthy detector takes the mean of its intersection's healthy
   * ones (blackout.ts's rule for a detector with no history), listed in `repaired`.
   */
  usable(regionId: string, intervalS: number, staleAfterMs: number): { readonly volumes: Float64Array; readonly dark: readonly string[]; readonly repaired: readonly string[] } {
    const c = this.networks.get(regionId);
    if (!c) return { volumes: new Float64Array(0), dark: [], repaired: [] };
    const v = this.of(regionId);
    const heard = this.heardMs.get(regionId);
    const since = this.now() - staleAfterMs;
    const maxVeh = (CHATTER_VEH_PER_H_PER_LANE * intervalS) / 3600;
    const volumes = new Float64Array(v.length);
    const dark: string[] = [];
    const repaired: string[] = [];
    // Detectors by intersection: the compiled detectors follow the intersections' order.
    const byIx: number[][] = Array.from({ length: c.intersectionCount }, () => []);
    for (let d = 0, i = 0; d < c.detectorIds.length; d++) {
      while (c.detectorLane[d]! >= c.laneStart[i + 1]!) i++;
      byIx[i]!.push(d);
    }
    for (let i = 0; i < c.intersectionCount; i++) {
      const dets = byIx[i]!;
      const ok = (d: number) => heard !== undefined && heard[d]! >= since && v[d]! <= maxVeh;
      const good = dets.filter(ok);
      if (dets.length > 0 && good.length < MIN_HEALTHY_SHARE * dets.length) {
        dark.push(`${c.intersectionIds[i]} (${good.length} of ${dets.length} detectors)`);
        continue;
      }
      const mean = good.reduce((a, d) => a + v[d]!, 0) / Math.max(1, good.length);
      for (const d of dets) {
        if (ok(d)) volumes[d] = v[d]!;
        else {
          volumes[d] = mean;
          repaired.push(`${c.detectorIds[d]} (${heard === undefined || !(heard[d]! >= since) ? 'not heard from' : `${v[d]} veh, implausible`}): its intersection's mean, ${Math.round(mean * 10) / 10}`);
        }
      }
    }
    return { volumes, dark, repaired };
  }

  /** Takes one detector message for `regionId`; returns the counts taken from it. */
  ingest(regionId: string, data: Uint8Array): number {
    const c = this.networks.get(regionId);
    if (!c) return 0;
    let v = this.volumes.get(regionId);
    let heard = this.heardMs.get(regionId);
    let at = this.index.get(regionId);
    if (!v || !heard || !at) {
      v = new Float64Array(c.detectorIds.length);
      heard = new Float64Array(c.detectorIds.length).fill(Number.NaN);
      at = new Map(c.detectorIds.map((id, k) => [id, k]));
      this.volumes.set(regionId, v);
      this.heardMs.set(regionId, heard);
      this.index.set(regionId, at);
    }
    const nowMs = this.now();
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
      heard[k] = nowMs;
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
  /** Coordination across region borders (coordinated re-plans only). */
  readonly borders?: BorderContext;
}): Promise<ReplanReply> {
  const t0 = Date.now();
  const intervalS = opts.request.intervalS ?? 900;
  const forInterval = opts.request.forInterval ?? '00:00';
  const coordinate = opts.request.coordinate ?? true;
  const borders = coordinate ? opts.borders : undefined;
  const followUp = opts.request.followUp === true;
  const errors: string[] = [];
  const repaired: string[] = [];
  // At most COMMITS_IN_FLIGHT commits wait for JetStream at once: a whole node's regions
  // (~140 KB each, replicated) sent together timed out on the loaded 2-core machine.
  const commits = new Set<Promise<void>>();
  /** Each region's commit and state publication in flight: a region of the same component waits for it, so that it reads this node's latest. */
  const inFlight = new Map<string, Promise<void>>();
  let planMs = 0;
  let committed = 0;
  let maxValueBytes = 0;
  const fig = { planned: 0, changed: 0, unchanged: 0, kept: 0, atCommonCycle: 0, followed: 0, waiting: 0, bandS: 0, bandBeforeS: 0 };
  // Lower ids first: they lead their borders, so a chain of regions held here settles in one round.
  for (const r of [...opts.regions].sort()) {
    // A turn of the event loop between regions: lease renewals and inbox reads go on.
    await new Promise((res) => setImmediate(res));
    const c = opts.networks.get(r);
    const b = borders?.of.get(r);
    if (followUp && !b) continue;
    if (!c || !opts.holds(r)) {
      errors.push(`${r}: not held`);
      continue;
    }
    // No plan for made-up demand (the engine's blackout rule): a region with a blacked-out
    // intersection keeps the plan it has committed, whole, until its detectors are heard again.
    const counted = opts.counts.usable(r, intervalS, STALE_INTERVALS * intervalS * 1000);
    if (counted.dark.length > 0) {
      errors.push(`${r}: detector blackout at ${counted.dark.join(', ')}: keeps its committed plan`);
      continue;
    }
    if (counted.repaired.length > 0) repaired.push(`${r}: ${counted.repaired.slice(0, 3).join('; ')}${counted.repaired.length > 3 ? `; and ${counted.repaired.length - 3} more` : ''}`);
    try {
      let body: ReturnType<typeof deployableBody>;
      let publish: ((revision: number) => Promise<void>) | undefined;
      if (b && borders) {
        await Promise.all(b.component.map((x) => inFlight.get(x)));
        const states = await readBorderStates(borders.kv, b.component);
        const before = states.get(r);
        states.delete(r);
        const mem = borders.memory.last.get(r);
        if (followUp && mem && borderInputs(b, states, mem.needCycleS) === mem.inputs) {
          fig.unchanged++;
          continue;
        }
        const volumes = followUp && mem ? mem.volumes : counted.volumes;
        const tp = Date.now();
        const out = planRegionAtBorders(c, volumes, intervalS, b, states);
        body = deployableBody(c, out.plan.buffer, out.plan.corridors, forInterval);
        planMs += Date.now() - tp;
        fig.planned++;
        if (out.report.replanned) fig.atCommonCycle++;
        fig.followed += out.report.followed;
        fig.waiting += out.report.waiting;
        fig.bandS += out.report.bandS;
        fig.bandBeforeS += out.report.bandBeforeS;
        const inputs = borderInputs(b, states, out.state.needCycleS);
        const key = borderStateKey(out.state);
        const previous = mem?.state ?? (before ? borderStateKey(before) : undefined);
        const hash = planHash(body);
        publish = async (revision) => {
          // Published unless the bucket holds this very state of this very plan already.
          if (!before || borderStateKey(before) !== key || before.planRevision !== revision) await publishBorderState(borders.kv, { ...out.state, planRevision: revision, node: opts.nodeId });
          borders.memory.last.set(r, { inputs, needCycleS: out.state.needCycleS, volumes, state: key, planHash: hash, revision });
          if (key !== previous) fig.changed++;
        };
        // The same plan as the one committed (a round whose new inputs changed nothing, or a new
        // holder planning what its predecessor committed): not committed again, so its
        // controllers are not sent the same plan under a new id.
        const now = mem ?? (await readRegionPlan(opts.plans, r).then((p) => (p ? { planHash: planHash(p.body), revision: p.revision } : undefined)));
        if (now?.planHash === hash) {
          if (!opts.holds(r)) {
            errors.push(`${r}: lost while planning`);
            continue;
          }
          fig.kept++;
          await publish(now.revision);
          continue;
        }
      } else {
        const tp = Date.now();
        const p = planNetwork(c, counted.volumes, intervalS, { coordinate });
        body = deployableBody(c, p.buffer, p.corridors, forInterval);
        planMs += Date.now() - tp;
      }
      if (!opts.holds(r)) {
        errors.push(`${r}: lost while planning`);
        continue;
      }
      maxValueBytes = Math.max(maxValueBytes, JSON.stringify(body).length);
      // The state is published only once its plan is committed: a neighbour never follows a plan that is not stored.
      const commit = commitRegionPlan(opts.plans, r, body)
        .then(async (revision) => {
          committed++;
          await publish?.(revision);
        })
        .catch((e: unknown) => void errors.push(`${r}: commit: ${e instanceof Error ? e.message : String(e)}`));
      commits.add(commit);
      inFlight.set(r, commit);
      void commit.then(() => commits.delete(commit));
      while (commits.size >= COMMITS_IN_FLIGHT) await Promise.race(commits);
    } catch (e: unknown) {
      errors.push(`${r}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  await Promise.all([...commits]);
  const skipped = opts.regions.length - committed - fig.unchanged - fig.kept - (followUp ? opts.regions.filter((r) => !borders?.of.has(r)).length : 0);
  return {
    node: opts.nodeId,
    committed,
    skipped,
    errors: errors.slice(0, 5),
    ...(repaired.length > 0 ? { repaired: repaired.slice(0, 5) } : {}),
    planMs,
    ms: Date.now() - t0,
    maxValueBytes,
    ...(borders ? { border: { ...fig, bandS: Math.round(fig.bandS * 10) / 10, bandBeforeS: Math.round(fig.bandBeforeS * 10) / 10 } } : {}),
  };
}

/**
 * Answers re-plan requests on `gw.cluster.replan` for one node, one at a time in arrival
 * order: re-plans what `regions()` says the node holds then and replies with what it did
 * (nodeMain.ts --ingest; the border test runs two in one process).
 */
export function serveReplans(nc: NatsConnection, opts: Omit<Parameters<typeof replanRegions>[0], 'regions' | 'request'> & { readonly regions: () => readonly string[]; readonly onReply?: (reply: ReplanReply) => void }): Subscription {
  let queue = Promise.resolve();
  return nc.subscribe(REPLAN_SUBJECT, {
    callback: (err, m) => {
      if (err) return;
      queue = queue.then(async () => {
        let request: ReplanRequest = {};
        try {
          request = m.data.length > 0 ? (JSON.parse(new TextDecoder().decode(m.data)) as ReplanRequest) : {};
        } catch {
          // An unreadable request re-plans with the defaults.
        }
        const reply = await replanRegions({ ...opts, regions: opts.regions(), request });
        opts.onReply?.(reply);
        if (m.reply) m.respond(new TextEncoder().encode(JSON.stringify(reply)));
      }).catch(() => {
        // A request that could not be answered (the connection closing) must not stop the next ones.
      });
    },
  });
}

/**
 * A whole city's re-plan with coordination across borders: one request to every node, then
 * follow-up rounds until a round in which no node's border state changed (settled), at most
 * `maxRounds` in all. `nodes` is how many replies make a round. Returns every round's replies.
 */
export async function replanUntilSettled(nc: NatsConnection, opts: { readonly nodes: number; readonly request?: ReplanRequest; readonly maxRounds?: number; readonly roundTimeoutMs?: number }): Promise<{ settled: boolean; rounds: ReplanReply[][] }> {
  const rounds: ReplanReply[][] = [];
  const maxRounds = opts.maxRounds ?? 8;
  for (let k = 0; k < maxRounds; k++) {
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: opts.nodes });
    // A node that never answers ends the round unsettled after the timeout.
    const timer = setTimeout(() => sub.unsubscribe(), opts.roundTimeoutMs ?? 600_000);
    nc.publish(REPLAN_SUBJECT, JSON.stringify({ ...opts.request, followUp: k > 0 }), { reply: inbox });
    const replies: ReplanReply[] = [];
    for await (const m of sub) replies.push(m.json<ReplanReply>());
    clearTimeout(timer);
    rounds.push(replies);
    if (replies.length < opts.nodes) return { settled: false, rounds };
    if (replies.every((r) => (r.border?.changed ?? 0) === 0 && r.errors.length === 0)) return { settled: true, rounds };
  }
  return { settled: false, rounds };
}
