/**
 * GTFS-realtime as a source of priority requests (BusPriorityService.SubmitVehiclePositions).
 * The static feed is loaded once at start (`serve --gtfs <dir>`) and matched to
 * the service's network; each submitted FeedMessage becomes priority candidates
 * (engine/transit/realtime.ts), and every candidate is turned into the same
 * PriorityRequest message a dispatch client would send to RequestPriority, so it
 * goes through the same validation and the same TSP request path.
 */
import type { Network } from '../engine/network/schema.js';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { PRIORITY_CLASS_NAME } from './messages.js';
import { loadGtfsDir } from '../engine/transit/gtfs.js';
import { buildTransitIndex, decodeFeedMessage, type PriorityCandidate, type TransitIndex } from '../engine/transit/realtime.js';

/** Loads the static feed in `dir` and matches its trips to `net`. Feed problems are GreenwaveErrors with their `file:line` locations. */
export async function loadTransitIndex(net: Network, dir: string): Promise<TransitIndex> {
  const feed = await loadGtfsDir(dir);
  try {
    return buildTransitIndex(net, feed);
  } catch (e: unknown) {
    if (e instanceof GreenwaveError) throw e;
    throw new GreenwaveError(ErrorCode.InvalidInput, `GTFS feed ${dir}: cannot match the feed to the network: ${e instanceof Error ? e.message : String(e)}`, [], { cause: e });
  }
}

/** The PriorityRequest (proto-loader object, keepCase, oneofs) a dispatch client would send for this candidate. */
export function candidateToPriorityRequest(c: PriorityCandidate): Record<string, unknown> {
  const sec = Math.floor(c.arrivalS);
  return {
    vehicle_id: c.vehicleId,
    route_id: c.routeId,
    trip_id: c.tripId,
    intersection_id: c.intersectionId,
    movement_ref: 'movement',
    movement: c.movementId,
    eta: 'eta_time',
    eta_time: Number.isFinite(c.arrivalS) ? { seconds: sec, nanos: Math.round((c.arrivalS - sec) * 1e9) % 1_000_000_000 } : { seconds: Number.NaN, nanos: 0 },
    lateness_s: c.latenessS,
    occupancy: Math.max(0, Math.round(c.occupancy)),
    headway_s: c.headwayS,
    priority_class: PRIORITY_CLASS_NAME[c.priorityClass],
  };
}

/**
 * Decodes the feed (INVALID_ARGUMENT on `gtfs_realtime_feed` when it is not a
 * FeedMessage) and returns, per entity id, the vehicle id the realtime step
 * uses (vehicle.id, else vehicle.label, else the entity id).
 */
export function feedVehicleIds(buffer: unknown): Map<string, string> {
  let msg: ReturnType<typeof decodeFeedMessage>;
  try {
    msg = decodeFeedMessage(buffer);
  } catch (e: unknown) {
    const ge = GreenwaveError.from(e);
    if (ge.code !== ErrorCode.InvalidInput) throw ge;
    const problem = ge.message.replace(/^GTFS-realtime: /, '');
    throw new GreenwaveError(ErrorCode.InvalidInput, `gtfs_realtime_feed: ${problem}`, [{ path: 'gtfs_realtime_feed', message: problem }], { cause: e });
  }
  const ids = new Map<string, string>();
  for (const entity of msg.entity) {
    const entityId = entity.id || '(no id)';
    if (!ids.has(entityId)) ids.set(entityId, entity.vehicle?.vehicle?.id || entity.vehicle?.vehicle?.label || entityId);
  }
  return ids;
}
