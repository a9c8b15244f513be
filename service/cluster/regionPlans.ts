/**
 * Each region's committed plan, in the JetStream key-value bucket `greenwave-plans`: the key
 * is the region id (regions.ts), the value the deployable plan body that service/deployer.ts
 * stores and sends (`deployableBody`: the exact plan buffer, base64). Written by whoever
 * commits a plan for a region (the region's holder on a re-plan, regionReplan.ts, and the
 * cluster tests; no gRPC call publishes one yet), read
 * by the region's owner (regionDriver.ts), which pushes it to the region's controllers.
 *
 * A committed plan must never be lost, so the bucket is set unlike the lease bucket: no TTL
 * (nothing expires by age), file storage, `history` versions per key (default 5, for an audit
 * or a rollback to read), replicas 1 or 3 (on 3 servers it survives one's loss).
 *
 * The entry's revision (the bucket stream's sequence, unique over all keys and growing) is the
 * plan's cluster-wide id. Every node derives the same wire plan id from it (`regionWirePlanId`),
 * so a region's next owner reads a controller's active or pending plan id and knows whether
 * the controller already runs the committed plan: it pushes only to those that do not.
 *
 * Size: the value is the plan of the region's own network (engine/cluster/regionNetwork.ts:
 * what `deployableBody` encodes for it), about 0.6 KB per signal in base64, ~140 KB for a
 * region of 240 signals: under NATS's default 1 MB payload for regions of up to about 1,500
 * signals, whatever the city's size.
 */
import type { KV, NatsConnection } from 'nats';
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import { wirePlanId, type DeployablePlanBody } from '../deployer.js';

export const PLAN_BUCKET = 'greenwave-plans';

/** A region's committed plan as read from the bucket. */
export interface CommittedRegionPlan {
  readonly regionId: string;
  /** The bucket entry's revision: the plan's id over the whole cluster. */
  readonly revision: number;
  readonly body: DeployablePlanBody;
}

/**
 * The plan bucket, created if missing (settings above). `timeoutMs` bounds each request to it
 * (a commit waits that long for JetStream's acknowledgement; the client's default is 5 s,
 * which a replicated commit of a region's plan can exceed on a loaded machine).
 */
export function openPlanBucket(nc: NatsConnection, opts: { replicas?: number; history?: number; bucket?: string; timeoutMs?: number } = {}): Promise<KV> {
  return nc.jetstream().views.kv(opts.bucket ?? PLAN_BUCKET, { history: opts.history ?? 5, replicas: opts.replicas ?? 1, ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }) });
}

/** Commits `body` as region `regionId`'s plan; resolves to its revision once JetStream stored it. */
export function commitRegionPlan(kv: KV, regionId: string, body: DeployablePlanBody): Promise<number> {
  return kv.put(regionId, JSON.stringify(body));
}

/** The region's committed plan now, or undefined when none was ever committed (or it was deleted). */
export async function readRegionPlan(kv: KV, regionId: string): Promise<CommittedRegionPlan | undefined> {
  const e = await kv.get(regionId);
  if (e?.operation !== 'PUT') return undefined;
  return { regionId, revision: e.revision, body: parsePlanBody(regionId, e.string()) };
}

export function parsePlanBody(regionId: string, text: string): DeployablePlanBody {
  const body = JSON.parse(text) as Partial<DeployablePlanBody>;
  if (typeof body.wire !== 'string' || typeof body.forInterval !== 'string') throw new GreenwaveError(ErrorCode.InvalidInput, `${PLAN_BUCKET}/${regionId}: not a deployable plan (wire and forInterval are required)`);
  return body as DeployablePlanBody;
}

/** The plan id a region's controllers see for a committed plan (1..65535). */
export const regionWirePlanId = (revision: number): number => wirePlanId(revision);
