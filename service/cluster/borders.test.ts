/**
 * Coordination across region borders on one real nats-server: an arterial cut into two
 * regions, each held by its own node (two re-plan servers in this process, each on its own
 * connection, as nodeMain.ts runs one), re-planned through `gw.cluster.replan` rounds until
 * settled. The committed plans, read back from the plan bucket, must run one cycle and carry
 * the band over the border link; without the border states they do not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type KV, type NatsConnection, type Subscription } from 'nats';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../../engine/network/compile.js';
import { partitionRegions } from '../../engine/cluster/regions.js';
import { regionNetwork } from '../../engine/cluster/regionNetwork.js';
import { borderBandS, regionBorders, type BorderEnd, type RegionBorders } from '../../engine/cluster/borders.js';
import { planNetwork } from '../../engine/plan.js';
import { mod } from '../../engine/numeric.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { gridVolumes, splitArterialJson } from '../../test/fixtures/gridNetwork.js';
import { startNats, type NatsServers } from '../../test/fixtures/nats.js';
import { decodePlan } from '../planWire.js';
import { openPlanBucket, readRegionPlan } from './regionPlans.js';
import { BORDER_BUCKET, openBorderBucket, readBorderStates } from './borderStates.js';
import { BorderMemory, RegionCounts, replanRegions, replanUntilSettled, serveReplans } from './regionReplan.js';

describe('coordination across region borders over NATS (1 nats-server, 2 nodes in process)', () => {
  let nats: NatsServers;
  let requester: NatsConnection;
  const ncs: NatsConnection[] = [];
  const subs: Subscription[] = [];
  let networks: Map<string, CompiledNetwork>;
  let borders: Map<string, RegionBorders>;
  let ids: string[];
  let counts: RegionCounts;
  let volumes: Map<string, Float64Array>;

  beforeAll(async () => {
    nats = await startNats(1);
    requester = await connect({ servers: [...nats.urls] });
    // Eastbound-only border: the band over it must start a travel time downstream.
    const net = loadNetwork(JSON.stringify(splitArterialJson({ pieces: 2, perPiece: 4, oneWayBorders: true })));
    const part = partitionRegions(net, 4);
    ids = part.regions.map((r) => r.id);
    networks = new Map(part.regions.map((r) => [r.id, compileNetwork(regionNetwork(net, r))]));
    borders = regionBorders(net, part);
    // The two pieces carry different loads, so that they need different cycles alone.
    const load = (r: string): [number, number] => (networks.get(r)!.intersectionIds.includes('R0C0') ? [1500, 950] : [1100, 700]);
    volumes = new Map(ids.map((r) => [r, gridVolumes(networks.get(r)!, ...load(r))]));
    counts = new RegionCounts(networks);
    // Counts as a detector message brings them (regionReplan.ts's format).
    for (const r of ids) counts.ingest(r, new TextEncoder().encode(JSON.stringify({ v: Object.fromEntries(networks.get(r)!.detectorIds.map((d, k) => [d, volumes.get(r)![k]])) })));
  });
  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    await Promise.all(ncs.map((nc) => nc.close()));
    await requester?.close();
    await nats?.stop();
  });

  /** Two nodes, node k holding region ids[k], each with its own memory; borders on or off. */
  async function startNodes(bucketSuffix: string, withBorders: boolean): Promise<{ plans: KV; borderKv: KV; stop: () => void }> {
    const mine: Subscription[] = [];
    let plans: KV | undefined;
    let borderKv: KV | undefined;
    for (let k = 0; k < 2; k++) {
      const nc = await connect({ servers: [...nats.urls] });
      ncs.push(nc);
      const p = await openPlanBucket(nc, { bucket: `greenwave-plans-${bucketSuffix}` });
      const b = await openBorderBucket(nc);
      plans ??= p;
      borderKv ??= b;
      const held = ids[k]!;
      mine.push(
        serveReplans(nc, {
          nodeId: `n${k}`,
          regions: () => [held],
          networks,
          counts,
          plans: p,
          holds: (r) => r === held,
          ...(withBorders ? { borders: { of: borders, kv: b, memory: new BorderMemory() } } : {}),
        }),
      );
      await nc.flush();
    }
    subs.push(...mine);
    return { plans: plans!, borderKv: borderKv!, stop: () => mine.forEach((s) => s.unsubscribe()) };
  }

  /** The committed plans' EW greens at both ends of the border link, and every plan's validity. */
  async function atBorder(plans: KV): Promise<{ e: BorderEnd; from: { startS: number; greenS: number; cycleS: number }; to: { startS: number; greenS: number; cycleS: number }; cycles: Set<number>; valid: boolean }> {
    const e = borders.get(ids[0]!)!.ends[0]!;
    const from = e.role === 'from' ? e.signalId : e.otherSignalId;
    const to = e.role === 'from' ? e.otherSignalId : e.signalId;
    const greens = new Map<string, { startS: number; greenS: number; cycleS: number }>();
    const cycles = new Set<number>();
    let valid = true;
    for (const r of ids) {
      const c = networks.get(r)!;
      const committed = (await readRegionPlan(plans, r))!;
      const raw = Buffer.from(committed.body.wire, 'base64');
      const { plan } = decodePlan(c, new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8));
      for (let i = 0; i < c.intersectionCount; i++) valid &&= validateIntersectionPlan(c, i, plan.buffer);
      for (const t of plan.plans) {
        cycles.add(t.cycleS);
        const ew = t.phases.find((p) => p.id === 'EW')!;
        greens.set(t.intersectionId, { startS: mod(t.offsetS + ew.startS, t.cycleS), greenS: ew.greenS, cycleS: t.cycleS });
      }
    }
    return { e, from: greens.get(from)!, to: greens.get(to)!, cycles, valid };
  }

  let first: { plans: KV; stop: () => void } | undefined;

  it('after the rounds both regions run the larger cycle and the border green starts a travel time downstream', async () => {
    const { plans, borderKv, stop } = await startNodes('a', true);
    first = { plans, stop };
    const t0 = Date.now();
    const { settled, rounds } = await replanUntilSettled(requester, { nodes: 2, request: { coordinate: true, forInterval: '08:00' }, maxRounds: 6, roundTimeoutMs: 20_000 });
    const ms = Date.now() - t0;
    console.log(`border re-plan: ${rounds.length} rounds in ${ms} ms: ${rounds.map((rs) => rs.map((r) => `${r.node} committed ${r.committed} changed ${r.border?.changed} unchanged ${r.border?.unchanged} waiting ${r.border?.waiting}`).join(', ')).join(' | ')}`);
    expect(settled).toBe(true);
    // Needs in the first round, the common cycle and the follower's shift by the third, one round to see nothing change.
    expect(rounds.length).toBeLessThanOrEqual(4);
    expect(rounds.flat().flatMap((r) => r.errors)).toEqual([]);

    const needs = ids.map((r) => Math.max(...planNetwork(networks.get(r)!, volumes.get(r)!, 900).corridors.map((c) => c.cycleS)));
    expect(needs[0]).not.toBe(needs[1]);
    const { e, from, to, cycles, valid } = await atBorder(plans);
    expect(valid).toBe(true);
    expect([...cycles]).toEqual([Math.max(...needs)]);
    // The downstream green's middle a travel time after the upstream one's: the band is the narrower green.
    expect(e.travelS).toBeCloseTo(21.6, 6);
    const lagS = mod(to.startS + to.greenS / 2 - (from.startS + from.greenS / 2) - e.travelS, from.cycleS);
    expect(Math.min(lagS, from.cycleS - lagS)).toBeLessThanOrEqual(0.15);
    expect(borderBandS(from, to, e.travelS, from.cycleS)).toBeCloseTo(Math.min(from.greenS, to.greenS), 6);

    // Each region's published state names its committed plan.
    const states = await readBorderStates(borderKv, ids);
    for (const r of ids) expect(states.get(r)!.planRevision).toBe((await readRegionPlan(plans, r))!.revision);
  });

  it('new holders read the latest states, settle at once and commit nothing again', async () => {
    // The first nodes stop (their leases lost); fresh ones, with no memory, take both regions on the same buckets.
    first!.stop();
    const revisions = await Promise.all(ids.map(async (r) => (await readRegionPlan(first!.plans, r))!.revision));
    const { plans } = await startNodes('a', true);
    const { settled, rounds } = await replanUntilSettled(requester, { nodes: 2, request: { coordinate: true, forInterval: '08:00' }, maxRounds: 3, roundTimeoutMs: 20_000 });
    expect(settled).toBe(true);
    expect(rounds.length).toBe(1);
    // Same counts, same neighbours: the same plans, which are not committed again (no second rollout).
    expect(rounds[0]!.map((r) => [r.committed, r.border?.kept, r.border?.changed])).toEqual([
      [0, 1, 0],
      [0, 1, 0],
    ]);
    expect(await Promise.all(ids.map(async (r) => (await readRegionPlan(plans, r))!.revision))).toEqual(revisions);
    const { from, to, e, cycles } = await atBorder(plans);
    expect(cycles.size).toBe(1);
    expect(borderBandS(from, to, e.travelS, from.cycleS)).toBeCloseTo(Math.min(from.greenS, to.greenS), 6);
  });

  it('without the border states the same re-plan leaves the regions on two cycles', async () => {
    for (const s of subs.splice(0)) s.unsubscribe();
    const { plans } = await startNodes('c', false);
    const { rounds } = await replanUntilSettled(requester, { nodes: 2, request: { coordinate: true, forInterval: '08:00' }, maxRounds: 2, roundTimeoutMs: 20_000 });
    expect(rounds[0]!.every((r) => r.border === undefined && r.committed === 1)).toBe(true);
    const { cycles } = await atBorder(plans);
    expect(cycles.size).toBe(2);
    // The state bucket is the one the nodes share: its name and limits as documented.
    const status = await (await openBorderBucket(requester)).status();
    expect(status.bucket).toBe(BORDER_BUCKET);
    expect(status.history).toBe(1);
    expect(status.ttl).toBe(0);
  });

  it('a region with a blacked-out intersection is not re-planned: it keeps its committed plan until its detectors are heard again', async () => {
    const plans = await openPlanBucket(requester, { bucket: 'greenwave-plans-blackout' });
    let nowMs = 1_000_000;
    const quiet = new RegionCounts(networks, () => nowMs);
    const message = (r: string, skip: (d: string) => boolean) => new TextEncoder().encode(JSON.stringify({ v: Object.fromEntries(networks.get(r)!.detectorIds.flatMap((d, k) => (skip(d) ? [] : [[d, volumes.get(r)![k]]]))) }));
    // Region 0 heard in full; region 1 from every detector but those of its first intersection.
    const [r0, r1] = [ids[0]!, ids[1]!];
    const darkIx = networks.get(r1)!.intersectionIds[0]!;
    const darkLoops = networks.get(r1)!.network.intersections[0]!.detectors.length;
    quiet.ingest(r0, message(r0, () => false));
    quiet.ingest(r1, message(r1, (d) => d.startsWith(`d-${darkIx}-`)));
    const replan = () => replanRegions({ nodeId: 'solo', regions: ids, networks, counts: quiet, plans, holds: () => true, request: { coordinate: false, forInterval: '08:00' } });
    let reply = await replan();
    expect(reply.committed).toBe(1);
    expect(reply.errors).toEqual([`${r1}: detector blackout at ${darkIx} (0 of ${darkLoops} detectors): keeps its committed plan`]);
    expect(await readRegionPlan(plans, r0)).toBeDefined();
    expect(await readRegionPlan(plans, r1)).toBeUndefined();
    // Heard from again: planned.
    quiet.ingest(r1, message(r1, () => false));
    reply = await replan();
    expect(reply.errors).toEqual([]);
    const kept = (await readRegionPlan(plans, r1))!;
    // Two count intervals later with nothing heard, every detector is stale: nothing is re-planned, the committed plans stay.
    nowMs += 2 * 900 * 1000 + 1;
    reply = await replan();
    expect(reply.committed).toBe(0);
    expect(reply.errors).toHaveLength(2);
    expect((await readRegionPlan(plans, r1))!.revision).toBe(kept.revision);
    // An implausible count (a chattering loop) is not planned on: its intersection's mean is.
    const d0 = networks.get(r0)!.detectorIds[0]!;
    quiet.ingest(r0, message(r0, () => false));
    quiet.ingest(r0, new TextEncoder().encode(JSON.stringify({ v: { [d0]: 1e6 } })));
    const u = quiet.usable(r0, 900, 2 * 900 * 1000);
    expect(u.dark).toEqual([]);
    expect(u.repaired).toEqual([expect.stringMatching(new RegExp(`^${d0} \\(1000000 veh, implausible\\): its intersection's mean, [\\d.]+$`))]);
    expect(u.volumes[0]).toBeLessThan(600);
    reply = await replanRegions({ nodeId: 'solo', regions: [r0], networks, counts: quiet, plans, holds: () => true, request: { coordinate: false, forInterval: '08:00' } });
    expect(reply.committed).toBe(1);
    expect(reply.repaired).toEqual([expect.stringContaining(`${r0}: ${d0} (1000000 veh, implausible)`)]);
  });
});
