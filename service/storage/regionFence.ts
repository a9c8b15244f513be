/**
 * The cluster's record fence (docs/cluster.md, "The shared record"): every write a cluster
 * node makes for a region carries the region's fencing token, the revision of the lease write
 * that made the node its holder (service/cluster/lease.ts `token`; it grows with every new
 * holder, since it is the lease bucket stream's sequence). In the write's own transaction,
 * first, the record raises the region's stored token to the writer's, or refuses when it
 * already holds a larger one:
 *
 *   INSERT … ON CONFLICT (region) DO UPDATE SET token = excluded.token … WHERE region_fence.token <= excluded.token
 *
 * No row changed: another node took the region since this writer's lease began and has
 * written under its newer token; the write is refused (FencedError) and its transaction
 * rolled back, so nothing of it is stored, however late it arrives. The upsert locks the
 * region's row until the transaction ends: two writers of one region are serialised there (in
 * PostgreSQL's READ COMMITTED the second one's WHERE is evaluated on the first one's committed
 * row, so an older token waiting behind a newer one is refused). The storage's global write
 * lock (taken by every audit append) comes after, so the time a write holds that lock, which
 * bounds the record's throughput over the whole cluster, stays short; the order (region row,
 * then the global lock) is the same in every fenced write, so they cannot deadlock.
 *
 * Also here: the region's committed plans as stored plans (one row per plan bucket revision)
 * and the hand-over of a previous holder's unfinished deployments. Called by SqlStorage
 * (./sqlStorage.ts).
 */
import { appendAudit } from './audit.js';
import type { Row, Tx } from './driver.js';
import { FencedError } from './errors.js';
import type { Actor } from './storage.js';

/** What a fenced write carries: the region, the writer's lease token, and the writer. */
export interface RegionFence {
  readonly regionId: string;
  /** The lease's revision (RegionLeases.token): > 0, larger for every later holder. */
  readonly token: number;
  readonly nodeId: string;
}

export interface RegionFenceRow {
  readonly regionId: string;
  readonly token: number;
  readonly nodeId: string;
  readonly updatedAtMs: number;
}

/** A committed region plan as recorded: the plan bucket's revision and the stored plan holding its body. */
export interface RegionPlanRecord {
  readonly regionId: string;
  readonly revision: number;
  readonly planId: number;
  readonly nodeId: string;
  readonly token: number;
  readonly recordedAtMs: number;
}

export const fenceRow = (r: Row): RegionFenceRow => ({ regionId: String(r['region']), token: Number(r['token']), nodeId: String(r['node']), updatedAtMs: Number(r['updated_at_ms']) });

export const regionPlanRow = (r: Row): RegionPlanRecord => ({
  regionId: String(r['region']),
  revision: Number(r['revision']),
  planId: Number(r['plan_id']),
  nodeId: String(r['node']),
  token: Number(r['token']),
  recordedAtMs: Number(r['recorded_at_ms']),
});

/**
 * Raises the region's token to `f.token`, or throws FencedError when the record holds a larger
 * one. First in a fenced write's transaction. A raise (a new holder's first write) is audited
 * as 'region.fence' with the previous token and node.
 */
export async function raiseFence(tx: Tx, f: RegionFence, nowMs: number): Promise<void> {
  // Locked and read at its latest committed version (PostgreSQL; SQLite's transaction already holds the database).
  const before = (await tx.query(`SELECT * FROM region_fence WHERE region = $1${tx.dialect === 'postgres' ? ' FOR UPDATE' : ''}`, [f.regionId]))[0];
  const changed = await tx.run(
    `INSERT INTO region_fence (region, token, node, updated_at_ms) VALUES ($1, $2, $3, $4)
       ON CONFLICT (region) DO UPDATE SET token = excluded.token, node = excluded.node, updated_at_ms = excluded.updated_at_ms
       WHERE region_fence.token <= excluded.token`,
    [f.regionId, f.token, f.nodeId, nowMs],
  );
  if (changed !== 1) {
    const now = fenceRow((await tx.query('SELECT * FROM region_fence WHERE region = $1', [f.regionId]))[0]!);
    throw new FencedError(f.regionId, f.token, now.token, now.nodeId);
  }
  const prev = before ? fenceRow(before) : undefined;
  if (!prev || prev.token < f.token) await appendAudit(tx, { user: `node:${f.nodeId}` }, 'region.fence', { regionId: f.regionId, token: f.token, previousToken: prev?.token ?? null, previousNode: prev?.nodeId ?? null }, nowMs);
}

/**
 * Ends, as failed with `reason`, the deployments still staged or committed to these controllers
 * (a previous holder's, interrupted by the hand-over): the controllers allow one deployment in
 * flight each, and the new holder's rollout reads each controller and finishes the work.
 * Resolves to how many were ended.
 */
export async function supersedeDeployments(tx: Tx, actor: Actor, controllerIds: readonly string[], reason: string, nowMs: number): Promise<number> {
  if (controllerIds.length === 0) return 0;
  const ids = new Set(controllerIds);
  const left = (await tx.query(`SELECT id, controller_id, state FROM deployments WHERE state IN ('staged', 'committed') ORDER BY id`)).filter((r) => ids.has(String(r['controller_id'])));
  for (const r of left) await tx.run(`UPDATE deployments SET state = 'failed', updated_at_ms = $1, reason = $2 WHERE id = $3 AND state = $4`, [nowMs, reason, r['id'], r['state']]);
  if (left.length > 0) await appendAudit(tx, actor, 'deployment.supersede', { deployments: left.map((r) => ({ deploymentId: Number(r['id']), controllerId: String(r['controller_id']), from: String(r['state']) })), reason }, nowMs);
  return left.length;
}
