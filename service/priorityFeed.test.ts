/**
 * PriorityFeed (./priorityFeed.ts) on its own: recording never calls a watcher
 * on the recording call's stack; the window is bounded and a watcher that fell
 * more than the ring behind is told how many it missed; the number of watchers
 * is capped; a watcher that throws is dropped; the open requests are the TSP
 * controller's own, with the route, class and lateness of the latest event.
 */
import { describe, expect, it } from 'vitest';
import { FLUSH_MS, MAX_WATCHERS, PriorityFeed, RING_SIZE, type PriorityEvent } from './priorityFeed.js';
import type { TspDecision } from '../engine/priority/tsp.js';
import { DEMO_COUNTS, DEMO_NETWORK } from '../test/fixtures/grpc/demo.js';
import { priorityConfig } from '../engine/priority/policy.js';
import { ServiceState } from './state.js';
import { parsePriorityRequest } from './messages.js';

const granted: TspDecision = { granted: true, strategy: 'greenExtension', reason: 'granted', detail: '', phase: 0, adjustmentS: 5, savedS: 5, greenAtS: 0 };
const req = (n: number) => ({ vehicleId: `bus-${n}`, routeId: '7', tripId: '', priorityClass: 2, latenessS: 60, arrivalS: 1000 });
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, FLUSH_MS + 20));

describe('PriorityFeed', () => {
  it('tells watchers after the recording call, not during it, in order and in one batch', async () => {
    const feed = new PriorityFeed(() => 5000);
    const seen: PriorityEvent[][] = [];
    feed.watch((events) => seen.push([...events]));
    feed.decided('request', 'disp', req(1), 'I1', granted);
    feed.cancelled('disp', 'bus-1', 'I1', true);
    expect(seen).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    await tick();
    expect(seen.length).toBe(1);
    expect(seen[0]!.map((e) => [e.seq, e.kind, e.vehicleId, e.reason])).toEqual([
      [1, 'request', 'bus-1', 'granted'],
      [2, 'cancel', 'bus-1', 'withdrawn'],
    ]);
    expect(seen[0]![0]).toMatchObject({ routeId: '7', priorityClass: 'bus', latenessS: 60, arrivalMs: 1_000_000, atMs: 5000, strategy: 'greenExtension', client: 'disp' });
  });

  it('keeps only the last RING_SIZE events; a watcher further behind is told what it missed', async () => {
    const feed = new PriorityFeed(() => 0);
    for (let n = 1; n <= RING_SIZE + 40; n++) feed.decided('request', 'disp', req(n), 'I1', granted);
    expect(feed.recent().length).toBe(RING_SIZE);
    expect(feed.recent()[0]!.seq).toBe(41);
    let got: { events: readonly PriorityEvent[]; missed: number } | undefined;
    feed.watch((events, missed) => (got = { events, missed }), 0);
    await tick();
    expect(got!.missed).toBe(40);
    expect(got!.events.length).toBe(RING_SIZE);
    expect(got!.events.at(-1)!.seq).toBe(RING_SIZE + 40);
    expect(feed.missed).toBe(40);
  });

  it('caps the watchers and drops one that throws', async () => {
    const feed = new PriorityFeed(() => 0);
    const stops = Array.from({ length: MAX_WATCHERS - 1 }, () => feed.watch(() => undefined));
    expect(stops.every((s) => s !== undefined)).toBe(true);
    expect(feed.watch(() => { throw new Error('broken page'); })).toBeDefined();
    expect(feed.watch(() => undefined)).toBeUndefined();
    feed.decided('request', 'disp', req(1), 'I1', granted);
    await tick();
    expect(feed.watcherCount).toBe(MAX_WATCHERS - 1);
    stops[0]!();
    expect(feed.watcherCount).toBe(MAX_WATCHERS - 2);
  });

  it('lists the TSP controller’s open requests, soonest first, with the latest event’s route and class', () => {
    const state = ServiceState.load(DEMO_NETWORK, DEMO_COUNTS, '08:00', priorityConfig());
    const c = state.c;
    const feed = new PriorityFeed(() => 0);
    const nowS = 1_000_000;
    for (const [v, eta] of [['bus-a', 60], ['bus-b', 20]] as const) {
      const r = parsePriorityRequest(state, { vehicle_id: v, route_id: `r-${v}`, intersection_id: 'I2', movement_ref: 'movement', movement: 'EBT', eta: 'eta_s', eta_s: eta, lateness_s: 90, occupancy: 30, priority_class: 'PRIORITY_CLASS_BUS' }, nowS, '', 'disp');
      feed.decided('request', 'disp', r, 'I2', state.tsp.request(r, nowS));
    }
    state.tsp.cancel('bus-a', c.intersectionIds.indexOf('I2'), nowS);
    const open = feed.open(state, 10);
    expect(open.map((o) => [o.vehicleId, o.intersectionId, o.routeId, o.priorityClass, o.latenessS, o.arrivalMs])).toEqual([['bus-b', 'I2', 'r-bus-b', 'bus', 90, (nowS + 20) * 1000]]);
    expect(open[0]!.reason).toBe(state.tsp.lastDecision('bus-b', c.intersectionIds.indexOf('I2'))!.reason);
  });
});
