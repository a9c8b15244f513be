/**
 * EventService (proto/greenwave/v1/events.proto): the controller events the service stores
 * (collected by ./eventCollector.ts) and the signal performance measures computed from them
 * by engine/measures/ (the same functions as `greenwave measures`). Viewer role, like
 * TimingService's reads. Registered by startServer (./server.ts) with a ServiceContext
 * (./calls.ts); a service without a storage answers FAILED_PRECONDITION.
 *
 * Bounds: a ListEvents page holds at most MAX_PAGE_SIZE events; measures read at most
 * MAX_MEASURE_RANGE_S of log and MAX_MEASURE_EVENTS events (both named in INVALID_ARGUMENT /
 * RESOURCE_EXHAUSTED), so one call cannot load a day of a whole city into memory.
 * Paging: events are ordered by (timestamp, insertion); the token carries the last
 * timestamp returned and how many events at that timestamp were returned, so the next
 * page starts right after them (events inserted later at an earlier time are not seen).
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, GreenwaveError, IssueList } from '../engine/errors.js';
import { EventBuffer } from '../engine/events/buffer.js';
import { MAX_EVENT_CODE } from '../engine/events/codes.js';
import { measureContext } from '../engine/measures/context.js';
import { approachDelay, arrivalsOnGreen, purdueCoordinationDiagram } from '../engine/measures/pcd.js';
import { splitFailures } from '../engine/measures/splitFailure.js';
import { splitMonitor, terminationTypes } from '../engine/measures/splitMonitor.js';
import { linkPivot } from '../engine/measures/linkPivot.js';
import { pedestrianMeasures } from '../engine/measures/pedestrian.js';
import { phaseLogged } from '../engine/measures/report.js';
import { tspMeasures, type TspMeasures } from '../engine/measures/tsp.js';
import { StatusError, notFound } from './errors.js';
import { num, str, sToTimestamp, timestampToS, type Obj } from './messages.js';
import type { ServiceContext } from './calls.js';
import type { ControllerEvent, Storage } from './storage/storage.js';

export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;
export const MAX_MEASURE_RANGE_S = 86_400;
export const MAX_MEASURE_EVENTS = 2_000_000;
/** At most this many codes in one ListEvents filter. */
const MAX_CODES = 64;

/** The handlers of greenwave.v1.EventService. */
export function eventService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const { gate } = ctx;
  return {
    ListEvents: gate.unary('viewer', (r) => listEvents(storageOf(ctx), r)),
    GetMeasures: gate.unary('viewer', (r) => getMeasures(ctx, storageOf(ctx), r)),
    LinkPivot: gate.unary('viewer', (r) => corridorLinkPivot(ctx, storageOf(ctx), r)),
  };
}

function storageOf(ctx: ServiceContext): Storage {
  const s = ctx.journal?.storage;
  if (!s) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'this service keeps no storage (start it with --db or --pg): no events are stored');
  return s;
}

/** [from, to) in ms from the request's timestamps; problems go to `issues`. */
function range(r: Obj, issues: IssueList, maxS?: number): { fromMs: number; toMs: number } {
  const fromMs = Math.round(timestampToS(r['from']) * 1000);
  const toMs = Math.round(timestampToS(r['to']) * 1000);
  if (r['from'] === null || r['from'] === undefined) issues.add('from', 'is required');
  if (r['to'] === null || r['to'] === undefined) issues.add('to', 'is required');
  else if (!(toMs > fromMs)) issues.add('to', 'must be after from');
  else if (maxS !== undefined && toMs - fromMs > maxS * 1000) issues.add('to', `the range may span at most ${maxS} s (${maxS / 3600} h); got ${(toMs - fromMs) / 1000} s`);
  return { fromMs, toMs };
}

const PAGE_TOKEN = /^v1\.(\d{1,16})\.(\d{1,9})$/;

async function listEvents(storage: Storage, r: Obj): Promise<Obj> {
  const issues = new IssueList();
  const { fromMs, toMs } = range(r, issues);
  const locationId = str(r['location_id']);
  if (locationId.length > 64) issues.add('location_id', 'must be at most 64 characters');
  const codes = (Array.isArray(r['event_codes']) ? r['event_codes'] : []).map((c) => num(c));
  if (codes.length > MAX_CODES) issues.add('event_codes', `at most ${MAX_CODES} codes`);
  codes.forEach((c, k) => {
    if (!(Number.isInteger(c) && c >= 0 && c <= MAX_EVENT_CODE)) issues.add(`event_codes[${k}]`, `${c} is not an event code 0..${MAX_EVENT_CODE}`);
  });
  const asked = num(r['page_size']);
  const pageSize = asked === 0 ? DEFAULT_PAGE_SIZE : asked;
  if (!(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= MAX_PAGE_SIZE)) issues.add('page_size', `must be at most ${MAX_PAGE_SIZE} (0 = ${DEFAULT_PAGE_SIZE}); got ${asked}`);
  // The token: the last timestamp returned, and how many events at it were returned.
  let startMs = fromMs;
  let skip = 0;
  const token = str(r['page_token']);
  if (token !== '') {
    const m = PAGE_TOKEN.exec(token);
    if (!m || Number(m[1]) < fromMs || Number(m[1]) >= toMs) issues.add('page_token', 'is not a next_page_token of this query');
    else {
      startMs = Number(m[1]);
      skip = Number(m[2]);
    }
  }
  issues.throwIfAny('ListEvents');
  // One more than the page: whether another page follows.
  const rows = await storage.events({ fromMs: startMs, toMs, ...(locationId !== '' ? { locationId } : {}), ...(codes.length > 0 ? { eventCodes: codes } : {}), limit: skip + pageSize + 1 });
  const page = rows.slice(skip, skip + pageSize);
  let next = '';
  if (rows.length > skip + pageSize && page.length > 0) {
    const lastMs = page[page.length - 1]!.timestampMs;
    let atLast = 0;
    for (let k = page.length - 1; k >= 0 && page[k]!.timestampMs === lastMs; k--) atLast++;
    // All of the page at one timestamp: the events skipped before it are at that timestamp too.
    next = `v1.${lastMs}.${atLast === page.length && lastMs === startMs ? skip + atLast : atLast}`;
  }
  return { events: page.map(wireEvent), next_page_token: next };
}

const wireEvent = (e: ControllerEvent): Obj => ({ location_id: e.locationId, timestamp: sToTimestamp(e.timestampMs / 1000), event_code: e.eventCode, event_param: e.eventParam });

/** The stored events of these locations in [fromMs, toMs), as one time-ordered buffer; refused past `maxEvents` (MAX_MEASURE_EVENTS). */
export async function loadLog(storage: Storage, locationIds: readonly string[], fromMs: number, toMs: number, maxEvents = MAX_MEASURE_EVENTS): Promise<EventBuffer> {
  const buf = new EventBuffer(1024);
  let total = 0;
  for (const locationId of locationIds) {
    const rows = await storage.events({ fromMs, toMs, locationId, limit: maxEvents - total + 1 });
    total += rows.length;
    if (total > maxEvents) throw new StatusError(grpc.status.RESOURCE_EXHAUSTED, `more than ${maxEvents} events in the range: ask for a shorter range (from, to)`);
    const loc = buf.locationIndex(locationId);
    for (const e of rows) buf.push(loc, e.timestampMs, e.eventCode, e.eventParam);
  }
  buf.sortByTime();
  return buf;
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : Number.NaN;
}

/** The q-quantile of sorted values (nearest rank), NaN when empty. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function getMeasures(ctx: ServiceContext, storage: Storage, r: Obj): Promise<Obj> {
  const issues = new IssueList();
  const { fromMs, toMs } = range(r, issues, MAX_MEASURE_RANGE_S);
  const id = str(r['intersection_id']);
  if (id === '') issues.add('intersection_id', 'is required');
  issues.throwIfAny('GetMeasures');
  const { c } = ctx.state;
  const i = ctx.state.intersection(id, 'intersection_id');
  const log = await loadLog(storage, [id], fromMs, toMs);
  const m = measureContext(c, log);
  const loc = m.location[i]!;
  const phases: Obj[] = [];
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]! && loc >= 0; p++) {
    const number = m.numbering.phaseNumber[p]!;
    if (!phaseLogged(log, loc, number)) continue;
    const pcd = purdueCoordinationDiagram(m, p);
    const aog = arrivalsOnGreen(pcd);
    const delay = approachDelay(pcd);
    const sf = splitFailures(m, p);
    const sm = splitMonitor(m, p);
    const splits = sm.cycles.map((cy) => cy.splitS).sort((a, b) => a - b);
    const out: Obj = {
      phase_id: c.phaseIds[p],
      phase_number: number,
      cycles: pcd.cycles.length,
      arrivals: aog.volume,
      arrivals_on_green: aog.arrivalsOnGreen,
      percent_arrivals_on_green: finite(aog.percentArrivalsOnGreen),
      percent_green: finite(aog.percentGreen),
      platoon_ratio: finite(aog.platoonRatio),
      approach_delay_s_per_veh: finite(delay.averageDelayS),
      total_delay_s: delay.totalDelayS,
      split_failures: sf.failures,
      split_failure_cycles: sf.cycles.length,
      percent_split_failures: finite(sf.percentFailures),
      terminations: (({ gapOut, maxOut, forceOff, unreported }) => ({ gap_out: gapOut, max_out: maxOut, force_off: forceOff, unreported }))(terminationTypes(m, p)),
      split: { cycles: sm.cycles.length, mean_s: finite(sm.meanSplitS), min_s: finite(sm.minSplitS), max_s: finite(sm.maxSplitS), p50_s: quantile(splits, 0.5), p85_s: quantile(splits, 0.85), p95_s: quantile(splits, 0.95) },
    };
    const ped = pedestrianMeasures(m, p);
    if (ped) out['pedestrian'] = { walks: ped.walks, walks_on_recall: ped.walksOnRecall, mean_walk_s: ped.meanWalkS, mean_clearance_s: ped.meanClearanceS, min_clearance_s: ped.minClearanceS, calls: ped.calls, served_calls: ped.servedCalls, average_delay_s: ped.averageDelayS, max_delay_s: ped.maxDelayS };
    if (r['include_pcd'] === true) {
      out['pcd_cycles'] = pcd.cycles.map((cy) => ({ start: sToTimestamp(cy.startMs / 1000), green_start_s: (cy.greenStartMs - cy.startMs) / 1000, yellow_start_s: (cy.yellowStartMs - cy.startMs) / 1000, end_s: (cy.endMs - cy.startMs) / 1000 }));
      out['pcd_points'] = pcd.cycles.flatMap((cy, k) => cy.arrivals.map((a) => ({ cycle: k, in_cycle_s: a.inCycleS, on: a.on })));
    }
    phases.push(out);
  }
  const tsp = tspMeasures(m, i);
  return { intersection_id: id, events: log.length, phases, ...(tsp ? { tsp: wireTsp(tsp) } : {}) };
}

function wireTsp(t: TspMeasures): Obj {
  return {
    requests: t.requests,
    early_greens: t.earlyGreens,
    extend_greens: t.extendGreens,
    not_adjusted: t.notAdjusted,
    checked_out: t.checkedOut,
    open: t.open,
    unmatched_check_outs: t.unmatchedCheckOuts,
    mean_service_s: t.meanServiceS,
    max_service_s: t.maxServiceS,
    records: t.records.map((r) => ({ request_number: r.requestNumber, check_in: sToTimestamp(r.checkInMs / 1000), ...(Number.isNaN(r.checkOutMs) ? {} : { check_out: sToTimestamp(r.checkOutMs / 1000) }), adjustment: r.adjustment, service_s: r.serviceS })),
  };
}


async function corridorLinkPivot(ctx: ServiceContext, storage: Storage, r: Obj): Promise<Obj> {
  const issues = new IssueList();
  const { fromMs, toMs } = range(r, issues, MAX_MEASURE_RANGE_S);
  const id = str(r['corridor_id']);
  const cycleS = num(r['cycle_s']);
  if (!(Number.isFinite(cycleS) && cycleS >= 0 && cycleS <= 300)) issues.add('cycle_s', 'must be 0 (the logged cycle) or a cycle within (0, 300] s');
  issues.throwIfAny('LinkPivot');
  const { c } = ctx.state;
  const cor = c.network.corridors.find((x) => x.id === id);
  if (!cor) throw notFound(`corridor_id: no corridor "${id}"`);
  const log = await loadLog(storage, cor.intersections, fromMs, toMs);
  let lp: ReturnType<typeof linkPivot>;
  try {
    lp = linkPivot(measureContext(c, log), cor, cycleS > 0 ? { cycleS } : {});
  } catch (e: unknown) {
    throw GreenwaveError.from(e).code === ErrorCode.InvalidInput ? new StatusError(grpc.status.FAILED_PRECONDITION, GreenwaveError.from(e).message) : e;
  }
  return {
    corridor_id: id,
    cycle_s: finite(lp.cycleS),
    links: lp.links.map((l) => ({ upstream_id: l.upstreamId, downstream_id: l.downstreamId, adjustment_s: l.adjustmentS, arrivals: l.arrivals, arrivals_on_green_before: l.arrivalsOnGreenBefore, arrivals_on_green_after: l.arrivalsOnGreenAfter })),
    offsets: lp.offsetAdjustmentS.map((o) => ({ intersection_id: o.intersectionId, adjustment_s: o.adjustmentS })),
    percent_arrivals_on_green_before: finite(lp.percentArrivalsOnGreenBefore),
    percent_arrivals_on_green_after: finite(lp.percentArrivalsOnGreenAfter),
    events: log.length,
  };
}
