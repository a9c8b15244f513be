/**
 * Each region's border state on the bus: what its holder last planned at the region's border
 * links (engine/cluster/borders.ts: the cycle it needs alone, the common cycle it runs, and its
 * border signals' through greens), in the JetStream key-value bucket `greenwave-borders`, key
 * = the region id (so on subject `$KV.greenwave-borders.<region>`). Written by the region's
 * holder after each re-plan that committed its plan (regionReplan.ts), read by the holders of
 * the regions of its border component before theirs. A key-value bucket and not a stream of
 * messages, because a re-plan needs each neighbour's *latest* state and nothing older: a node
 * that takes a region over, or joins late, reads it the same way.
 *
 * Limits, set on purpose:
 *  - history 1: an older state is of no use to anyone (the plans bucket keeps the history);
 *  - no TTL: a state stays true as long as the committed plan it describes runs, and committed
 *    plans do not expire either; a region whose holder died keeps its controllers on that plan;
 *  - max value 64 KiB: a state is ~110 bytes per border link end (a region of 300 signals with
 *    a hundred border links stays under 12 KB); a larger one is refused, not truncated;
 *  - max bucket 64 MiB, replicas 1 or 3 (as the other buckets).
 */
import type { KV, NatsConnection } from 'nats';
import type { BorderState } from '../../engine/cluster/borders.js';

export const BORDER_BUCKET = 'greenwave-borders';
export const BORDER_MAX_VALUE_BYTES = 64 * 1024;

/** A region's border state as stored: the engine's state and the committed plan it belongs to. */
export interface StoredBorderState extends BorderState {
  /** Revision of the region's committed plan in `greenwave-plans` that runs this state. */
  readonly planRevision: number;
  readonly node: string;
}

export function openBorderBucket(nc: NatsConnection, opts: { replicas?: number; timeoutMs?: number } = {}): Promise<KV> {
  return nc.jetstream().views.kv(BORDER_BUCKET, {
    history: 1,
    replicas: opts.replicas ?? 1,
    maxValueSize: BORDER_MAX_VALUE_BYTES,
    max_bytes: 64 * 2 ** 20,
    ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
  });
}

export function publishBorderState(kv: KV, state: StoredBorderState): Promise<number> {
  return kv.put(state.regionId, JSON.stringify(state));
}

/** The latest states of `regionIds` (those never published are missing from the map). */
export async function readBorderStates(kv: KV, regionIds: readonly string[]): Promise<Map<string, StoredBorderState>> {
  const out = new Map<string, StoredBorderState>();
  await Promise.all(
    regionIds.map(async (r) => {
      const e = await kv.get(r);
      if (e?.operation === 'PUT') out.set(r, JSON.parse(e.string()) as StoredBorderState);
    }),
  );
  return out;
}

/** The engine's part of a state, as compared between re-plans (not its revision or writer). */
export function borderStateKey(s: BorderState): string {
  return JSON.stringify({ regionId: s.regionId, needCycleS: s.needCycleS, cycleS: s.cycleS, windows: s.windows });
}
