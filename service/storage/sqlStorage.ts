/**
 * The Storage contract (./storage.ts) implemented once, over the SQL driver
 * interface (./driver.ts). SqliteStorage and PostgresStorage are this class on
 * their driver. Every write runs in one transaction that also appends its
 * audit row (./audit.ts); deployments follow ./deployments.ts, the event log
 * and its cursors ./eventLog.ts. A cluster node writes through a fenced view
 * (`fenced`, ./regionFence.ts): every write of the view first checks and raises
 * its region's fencing token in the same transaction.
 *
 * Why a little over 600 lines: this is the one implementation of every Storage method, each a
 * short transaction; what each part does already lives in its own module (those above), and
 * cutting the class in two would split one interface's implementation across files.
 */
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { appendAudit, auditRow, verifyAuditChain } from './audit.js';
import { canonicalJson, sha256 } from './auditHash.js';
import { deploymentRow, transition, UNFINISHED_STATES } from './deployments.js';
import { decidePlan, decisionRow, lockRow, releaseLock, setLock } from './lifecycle.js';
import { cursorRow, prepareEventWrite, queryEvents, writeEvents } from './eventLog.js';
import { deleteOccupancyBefore, prepareOccupancyRows, queryOccupancy, writeOccupancy } from './occupancyLog.js';
import { prepareIncident, queryIncidents, writeIncident } from './incidentLog.js';
import type { BatchColumn, Driver, Row, Tx } from './driver.js';
import { ConflictError, NotFoundError } from './errors.js';
import { fenceRow, raiseFence, regionPlanRow, supersedeDeployments, type RegionFence, type RegionFenceRow, type RegionPlanRecord } from './regionFence.js';
import { checkSchema, LATEST_SCHEMA_VERSION, migrate } from './migrations.js';
import type {
  Actor,
  AuditQuery,
  AuditRow,
  AuditVerification,
  ControllerEvent,
  Deployment,
  DeploymentTransition,
  DetectorCount,
  EventProgress,
  EventQuery,
  Lock,
  NetworkVersion,
  NewDeployment,
  NewLock,
  NewPriorityRequest,
  NewTimingPlan,
  OccupancyQuery,
  OccupancyRecord,
  StoredIncident,
  PlanDecision,
  PlanDecisionKind,
  PlanScope,
  PriorityOp,
  PriorityRequest,
  Storage,
  StoredEventCursor,
  TimingPlan,
} from './storage.js';

const DAY_MS = 86_400_000;
/** Rows per batched statement: bounds one statement's size (and PostgreSQL's parameter arrays). */
const BATCH_ROWS = 5000;

const COUNT_COLUMNS: readonly BatchColumn[] = [
  { name: 'detector_id', pgType: 'text' },
  { name: 'interval_start_ms', pgType: 'bigint' },
  { name: 'interval_s', pgType: 'integer' },
  { name: 'volume_veh', pgType: 'double precision' },
  { name: 'occupancy_pct', pgType: 'double precision' },
];
const COUNT_UPSERT = 'ON CONFLICT (detector_id, interval_start_ms, interval_s) DO UPDATE SET volume_veh = excluded.volume_veh, occupancy_pct = excluded.occupancy_pct';

export interface SqlStorageOptions {
  /** Open without migrating or writing (`greenwave audit verify`): the database must already be a greenwave one. */
  readonly readOnly?: boolean;
  /** The clock for created_at / audit times (tests pin it). */
  readonly nowMs?: () => number;
}

const invalid = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, message);
const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const nullableString = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function networkRow(r: Row): NetworkVersion {
  return {
    id: Number(r['id']),
    name: String(r['name']),
    contentSha256: String(r['content_sha256']),
    json: String(r['json']),
    createdAtMs: Number(r['created_at_ms']),
    author: String(r['author']),
  };
}

function planRow(r: Row): TimingPlan {
  return {
    planId: Number(r['plan_id']),
    scope: { kind: String(r['scope_kind']) as PlanScope['kind'], id: String(r['scope_id']) },
    version: Number(r['version']),
    body: JSON.parse(String(r['body'])) as unknown,
    author: String(r['author']),
    createdAtMs: Number(r['created_at_ms']),
    reason: String(r['reason']),
    source: String(r['source']) as TimingPlan['source'],
    parentVersion: nullableNumber(r['parent_version']),
    networkVersionId: nullableNumber(r['network_version_id']),
  };
}

function priorityRow(r: Row): PriorityRequest {
  return {
    requestId: String(r['request_id']),
    vehicleId: String(r['vehicle_id']),
    intersectionId: String(r['intersection_id']),
    priorityClass: String(r['priority_class']),
    client: String(r['client']),
    requestedAtMs: Number(r['requested_at_ms']),
    etaMs: Number(r['eta_ms']),
    state: String(r['state']) as PriorityRequest['state'],
    decision: nullableString(r['decision']),
    decisionReason: nullableString(r['decision_reason']),
    decidedAtMs: nullableNumber(r['decided_at_ms']),
    closedAtMs: nullableNumber(r['closed_at_ms']),
    closeReason: nullableString(r['close_reason']),
  };
}

const countRow = (r: Row): DetectorCount => ({
  detectorId: String(r['detector_id']),
  intervalStartMs: Number(r['interval_start_ms']),
  intervalS: Number(r['interval_s']),
  volumeVeh: Number(r['volume_veh']),
  occupancyPct: Number(r['occupancy_pct']),
});

function checkActor(actor: Actor): void {
  if (!actor || typeof actor.user !== 'string' || actor.user === '') throw invalid('storage: every write needs an actor with a user name');
}

const isInt = (v: unknown, min = 0): v is number => Number.isSafeInteger(v) && (v as number) >= min;

export class SqlStorage implements Storage {
  readonly dialect: string;
  private readonly now: () => number;

  protected constructor(
    protected readonly db: Driver,
    private readonly readOnly: boolean,
    nowMs?: () => number,
    /** A fenced view's fence (`fenced`): checked and raised first in every write. */
    private readonly fence?: RegionFence,
  ) {
    this.dialect = db.dialect;
    this.now = nowMs ?? Date.now;
  }

  /**
   * A view of this storage for a cluster node holding region `f.regionId` under lease token
   * `f.token`: every write through it first raises the region's fencing token in the record, in
   * the write's own transaction, and is refused (FencedError, nothing written) when the record
   * holds a newer one (./regionFence.ts). Reads are the storage's. The view shares the
   * connection: closing it does nothing, close the storage itself.
   */
  fenced(f: RegionFence): SqlStorage {
    if (!(Number.isSafeInteger(f.token) && f.token > 0)) throw invalid(`fenced: region ${f.regionId}: token ${f.token} must be a whole number > 0`);
    if (typeof f.regionId !== 'string' || f.regionId === '' || typeof f.nodeId !== 'string' || f.nodeId === '') throw invalid('fenced: a region id and a node id are required');
    return new FencedView(this.db, this.readOnly, this.now, f);
  }

  /** Migrates (or, read-only, checks) the schema; closes the driver if that fails. */
  protected static async prepare(db: Driver, opts: SqlStorageOptions): Promise<void> {
    try {
      if (opts.readOnly) {
        const v = await checkSchema(db);
        if (v === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'not a greenwave database (it has no schema_migrations table)');
      } else {
        await migrate(db, (opts.nowMs ?? Date.now)());
      }
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
  }

  async schemaVersion(): Promise<number> {
    return checkSchema(this.db);
  }

  /** One write: a transaction in which `fn` writes and appends the audit row. */
  private write<T>(actor: Actor, fn: (tx: Tx, nowMs: number) => Promise<T>): Promise<T> {
    if (this.readOnly) return Promise.reject(new GreenwaveError(ErrorCode.Storage, 'this storage was opened read-only'));
    checkActor(actor);
    const fence = this.fence;
    return this.db.transaction(async (tx) => {
      const nowMs = this.now();
      if (fence) await raiseFence(tx, fence, nowMs);
      return fn(tx, nowMs);
    });
  }

  // ── network versions ──

  async saveNetworkVersion(actor: Actor, name: string, json: string): Promise<NetworkVersion> {
    if (typeof name !== 'string' || name === '') throw invalid('saveNetworkVersion: a name is required');
    const sha = sha256(json);
    return this.write(actor, async (tx, nowMs) => {
      // A service restart saves the same file again: that is not a new version.
      const same = (await tx.query('SELECT * FROM network_versions WHERE name = $1 AND content_sha256 = $2 ORDER BY id DESC LIMIT 1', [name, sha]))[0];
      if (same) return networkRow(same);
      const row = (await tx.query('INSERT INTO network_versions (name, content_sha256, json, created_at_ms, author) VALUES ($1, $2, $3, $4, $5) RETURNING *', [name, sha, json, nowMs, actor.user]))[0]!;
      const v = networkRow(row);
      await appendAudit(tx, actor, 'network.save', { id: v.id, name, contentSha256: sha, bytes: Buffer.byteLength(json, 'utf8') }, nowMs);
      return v;
    });
  }

  async getNetworkVersion(id: number): Promise<NetworkVersion | undefined> {
    const r = (await this.db.query('SELECT * FROM network_versions WHERE id = $1', [id]))[0];
    return r ? networkRow(r) : undefined;
  }

  async latestNetworkVersion(name: string): Promise<NetworkVersion | undefined> {
    const r = (await this.db.query('SELECT * FROM network_versions WHERE name = $1 ORDER BY id DESC LIMIT 1', [name]))[0];
    return r ? networkRow(r) : undefined;
  }

  async listNetworkVersions(): Promise<NetworkVersion[]> {
    return (await this.db.query('SELECT * FROM network_versions ORDER BY id')).map(networkRow);
  }

  // ── detector counts ──

  async insertDetectorCounts(actor: Actor, counts: readonly DetectorCount[]): Promise<number> {
    // Last one wins within a batch, as it would across batches (PostgreSQL refuses one upsert touching a row twice).
    const byKey = new Map<string, DetectorCount>();
    for (const [i, c] of counts.entries()) {
      if (!(typeof c.detectorId === 'string' && isInt(c.intervalStartMs) && isInt(c.intervalS, 1) && Number.isFinite(c.volumeVeh) && c.volumeVeh >= 0 && Number.isFinite(c.occupancyPct) && c.occupancyPct >= 0 && c.occupancyPct <= 100)) {
        throw invalid(`insertDetectorCounts: count ${i} is malformed (detector id, whole ms start, whole s interval, volume ≥ 0, occupancy 0..100 %)`);
      }
      byKey.set(`${c.detectorId}\u0000${c.intervalStartMs}\u0000${c.intervalS}`, c);
    }
    const rows = [...byKey.values()].map((c) => [c.detectorId, c.intervalStartMs, c.intervalS, c.volumeVeh, c.occupancyPct]);
    if (rows.length === 0) return 0;
    return this.write(actor, async (tx, nowMs) => {
      for (let i = 0; i < rows.length; i += BATCH_ROWS) await tx.insertMany('detector_counts', COUNT_COLUMNS, rows.slice(i, i + BATCH_ROWS), COUNT_UPSERT);
      const starts = rows.map((r) => r[1] as number);
      await appendAudit(tx, actor, 'counts.insert', { rows: rows.length, fromMs: Math.min(...starts), toMs: Math.max(...starts) }, nowMs);
      return rows.length;
    });
  }

  async detectorCounts(q: { fromMs: number; toMs: number; detectorId?: string; intervalS?: number }): Promise<DetectorCount[]> {
    const params: unknown[] = [q.fromMs, q.toMs];
    let where = 'interval_start_ms >= $1 AND interval_start_ms < $2';
    if (q.detectorId !== undefined) where += ` AND detector_id = $${params.push(q.detectorId)}`;
    if (q.intervalS !== undefined) where += ` AND interval_s = $${params.push(q.intervalS)}`;
    return (await this.db.query(`SELECT * FROM detector_counts WHERE ${where} ORDER BY interval_start_ms, detector_id, interval_s`, params)).map(countRow);
  }

  async deleteDetectorCountsOlderThan(actor: Actor, days: number, nowMs: number): Promise<number> {
    if (!(Number.isFinite(days) && days >= 0)) throw invalid(`deleteDetectorCountsOlderThan: ${days} days must be ≥ 0`);
    const beforeMs = Math.floor(nowMs - days * DAY_MS);
    return this.write(actor, async (tx, atMs) => {
      const deleted = await tx.run('DELETE FROM detector_counts WHERE interval_start_ms < $1', [beforeMs]);
      await appendAudit(tx, actor, 'counts.retention', { days, beforeMs, deleted }, atMs);
      return deleted;
    });
  }

  async downsampleDetectorCounts(actor: Actor, opts: { fromIntervalS: number; toIntervalS: number; beforeMs: number }): Promise<{ rowsRolledUp: number; rollupsWritten: number }> {
    const { fromIntervalS, toIntervalS } = opts;
    if (!(isInt(fromIntervalS, 1) && isInt(toIntervalS, 1) && toIntervalS > fromIntervalS && toIntervalS % fromIntervalS === 0)) {
      throw invalid(`downsampleDetectorCounts: ${toIntervalS} s must be a whole multiple (above 1) of ${fromIntervalS} s`);
    }
    const toMs = toIntervalS * 1000;
    // Whole rollup intervals only: a half-covered one would be rolled up again later and double counted.
    const beforeMs = Math.floor(opts.beforeMs / toMs) * toMs;
    return this.write(actor, async (tx, nowMs) => {
      // Integer division floors in both databases for the non-negative times stored here.
      const rollupsWritten = await tx.run(
        `INSERT INTO detector_counts (detector_id, interval_start_ms, interval_s, volume_veh, occupancy_pct)
           SELECT detector_id, (interval_start_ms / CAST($1 AS BIGINT)) * CAST($1 AS BIGINT), CAST($2 AS INTEGER), SUM(volume_veh), AVG(occupancy_pct)
             FROM detector_counts WHERE interval_s = $3 AND interval_start_ms < $4
             GROUP BY detector_id, (interval_start_ms / CAST($1 AS BIGINT)) * CAST($1 AS BIGINT)
           ${COUNT_UPSERT}`,
        [toMs, toIntervalS, fromIntervalS, beforeMs],
      );
      const rowsRolledUp = await tx.run('DELETE FROM detector_counts WHERE interval_s = $1 AND interval_start_ms < $2', [fromIntervalS, beforeMs]);
      await appendAudit(tx, actor, 'counts.downsample', { fromIntervalS, toIntervalS, beforeMs, rowsRolledUp, rollupsWritten }, nowMs);
      return { rowsRolledUp, rollupsWritten };
    });
  }

  // ── timing plans ──

  async saveTimingPlan(actor: Actor, plan: NewTimingPlan): Promise<TimingPlan> {
    const { scope } = plan;
    if (!(scope && (scope.kind === 'intersection' || scope.kind === 'network') && typeof scope.id === 'string' && scope.id !== '')) throw invalid('saveTimingPlan: scope must be { kind: intersection | network, id }');
    if (plan.source !== 'optimizer' && plan.source !== 'operator') throw invalid(`saveTimingPlan: source "${String(plan.source)}" must be optimizer or operator`);
    if (typeof plan.reason !== 'string' || plan.reason.trim() === '') throw invalid('saveTimingPlan: a reason is required');
    const body = canonicalJson(plan.body);
    return this.write(actor, async (tx, nowMs) => {
      // The next version is read under the write lock, so two writers cannot both take it.
      await tx.lockWrites();
      const last = Number((await tx.query('SELECT MAX(version) AS v FROM timing_plans WHERE scope_kind = $1 AND scope_id = $2', [scope.kind, scope.id]))[0]?.['v'] ?? 0);
      if (plan.parentVersion !== undefined && !(isInt(plan.parentVersion, 1) && plan.parentVersion <= last)) throw new NotFoundError(`parent version ${plan.parentVersion} of ${scope.kind} ${scope.id}`);
      const row = (
        await tx.query(
          `INSERT INTO timing_plans (scope_kind, scope_id, version, body, author, created_at_ms, reason, source, parent_version, network_version_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
          [scope.kind, scope.id, last + 1, body, actor.user, nowMs, plan.reason, plan.source, plan.parentVersion ?? null, plan.networkVersionId ?? null],
        )
      )[0]!;
      const p = planRow(row);
      await appendAudit(tx, actor, 'plan.save', { planId: p.planId, scope, version: p.version, source: p.source, reason: p.reason, parentVersion: p.parentVersion, bodySha256: sha256(body) }, nowMs);
      return p;
    });
  }

  async getTimingPlan(planId: number): Promise<TimingPlan | undefined> {
    const r = (await this.db.query('SELECT * FROM timing_plans WHERE plan_id = $1', [planId]))[0];
    return r ? planRow(r) : undefined;
  }

  async timingPlanVersion(scope: PlanScope, version: number): Promise<TimingPlan | undefined> {
    const r = (await this.db.query('SELECT * FROM timing_plans WHERE scope_kind = $1 AND scope_id = $2 AND version = $3', [scope.kind, scope.id, version]))[0];
    return r ? planRow(r) : undefined;
  }

  async latestTimingPlan(scope: PlanScope): Promise<TimingPlan | undefined> {
    const r = (await this.db.query('SELECT * FROM timing_plans WHERE scope_kind = $1 AND scope_id = $2 ORDER BY version DESC LIMIT 1', [scope.kind, scope.id]))[0];
    return r ? planRow(r) : undefined;
  }

  async listTimingPlans(scope: PlanScope): Promise<TimingPlan[]> {
    return (await this.db.query('SELECT * FROM timing_plans WHERE scope_kind = $1 AND scope_id = $2 ORDER BY version', [scope.kind, scope.id])).map(planRow);
  }

  // ── deployments ──

  async stageDeployment(actor: Actor, d: NewDeployment): Promise<Deployment> {
    return (await this.stageDeployments(actor, [d]))[0]!;
  }

  async stageDeployments(actor: Actor, ds: readonly NewDeployment[]): Promise<Deployment[]> {
    for (const d of ds) {
      if (typeof d.controllerId !== 'string' || d.controllerId === '') throw invalid('stageDeployment: a controller id is required');
      if (!(isInt(d.wirePlanId, 1) && d.wirePlanId <= 0xffff)) throw invalid(`stageDeployment: wire plan id ${d.wirePlanId} must be 1..65535`);
    }
    return this.write(actor, async (tx, nowMs) => {
      // Under the write lock the in-flight check and the insert cannot interleave with another stager's.
      await tx.lockWrites();
      const staged: Deployment[] = [];
      for (const d of ds) {
        if ((await tx.query('SELECT plan_id FROM timing_plans WHERE plan_id = $1', [d.planId])).length === 0) throw new NotFoundError(`timing plan ${d.planId}`);
        const inFlight = (await tx.query(`SELECT id, state FROM deployments WHERE controller_id = $1 AND state IN ('staged', 'committed')`, [d.controllerId]))[0];
        if (inFlight) throw new ConflictError(`controller ${d.controllerId} already has deployment ${String(inFlight['id'])} ${String(inFlight['state'])}: finish, fail or roll it back first`);
        const row = (
          await tx.query(
            `INSERT INTO deployments (controller_id, plan_id, wire_plan_id, rollout_id, state, created_at_ms, updated_at_ms)
               VALUES ($1, $2, $3, $4, 'staged', $5, $5) RETURNING *`,
            [d.controllerId, d.planId, d.wirePlanId, d.rolloutId ?? null, nowMs],
          )
        )[0]!;
        const dep = deploymentRow(row);
        await appendAudit(tx, actor, 'deployment.stage', { deploymentId: dep.id, controllerId: dep.controllerId, planId: dep.planId, wirePlanId: dep.wirePlanId, rolloutId: dep.rolloutId }, nowMs);
        staged.push(dep);
      }
      return staged;
    });
  }


  transitionDeployment(actor: Actor, id: number, t: DeploymentTransition): Promise<Deployment> {
    return this.write(actor, (tx, nowMs) => transition(tx, actor, id, t, nowMs));
  }

  async getDeployment(id: number): Promise<Deployment | undefined> {
    const r = (await this.db.query('SELECT * FROM deployments WHERE id = $1', [id]))[0];
    return r ? deploymentRow(r) : undefined;
  }

  async listDeployments(q: { controllerId?: string; rolloutId?: string; planId?: number } = {}): Promise<Deployment[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (q.planId !== undefined) where.push(`plan_id = $${params.push(q.planId)}`);
    if (q.controllerId !== undefined) where.push(`controller_id = $${params.push(q.controllerId)}`);
    if (q.rolloutId !== undefined) where.push(`rollout_id = $${params.push(q.rolloutId)}`);
    return (await this.db.query(`SELECT * FROM deployments${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`, params)).map(deploymentRow);
  }

  async listUnfinishedDeployments(): Promise<Deployment[]> {
    const states = UNFINISHED_STATES.map((s) => `'${s}'`).join(', ');
    return (await this.db.query(`SELECT * FROM deployments WHERE state IN (${states}) ORDER BY id`)).map(deploymentRow);
  }

  // ── the cluster's record (./regionFence.ts) ──

  /**
   * Records committed plan `revision` of region `regionId` (the plan bucket's entry) as a stored
   * plan of scope network `region:<id>`, once: a later call for the same revision (the region's
   * next holder) resolves to the plan stored the first time.
   */
  async recordRegionPlan(actor: Actor, p: { regionId: string; revision: number; body: unknown; reason: string }): Promise<TimingPlan> {
    if (!(isInt(p.revision, 1) && typeof p.regionId === 'string' && p.regionId !== '')) throw invalid(`recordRegionPlan: region ${p.regionId}: revision ${p.revision} must be a whole number > 0`);
    const body = canonicalJson(p.body);
    const scope: PlanScope = { kind: 'network', id: `region:${p.regionId}` };
    return this.write(actor, async (tx, nowMs) => {
      await tx.lockWrites();
      const known = (await tx.query('SELECT t.* FROM region_plans r JOIN timing_plans t ON t.plan_id = r.plan_id WHERE r.region = $1 AND r.revision = $2', [p.regionId, p.revision]))[0];
      if (known) return planRow(known);
      const last = Number((await tx.query('SELECT MAX(version) AS v FROM timing_plans WHERE scope_kind = $1 AND scope_id = $2', [scope.kind, scope.id]))[0]?.['v'] ?? 0);
      const plan = planRow(
        (
          await tx.query(
            `INSERT INTO timing_plans (scope_kind, scope_id, version, body, author, created_at_ms, reason, source)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'optimizer') RETURNING *`,
            [scope.kind, scope.id, last + 1, body, actor.user, nowMs, p.reason],
          )
        )[0]!,
      );
      await tx.run('INSERT INTO region_plans (region, revision, plan_id, node, token, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6)', [p.regionId, p.revision, plan.planId, this.fence?.nodeId ?? actor.user, this.fence?.token ?? 0, nowMs]);
      await appendAudit(tx, actor, 'region.plan', { regionId: p.regionId, revision: p.revision, planId: plan.planId, version: plan.version, bodySha256: sha256(body) }, nowMs);
      return plan;
    });
  }

  /** Ends as failed the deployments in flight to these controllers (a previous holder's); resolves to how many. */
  supersedeDeployments(actor: Actor, controllerIds: readonly string[], reason: string): Promise<number> {
    return this.write(actor, (tx, nowMs) => supersedeDeployments(tx, actor, controllerIds, reason, nowMs));
  }

  /** The region's fencing token as recorded (undefined: no fenced write yet). */
  async regionFence(regionId: string): Promise<RegionFenceRow | undefined> {
    const r = (await this.db.query('SELECT * FROM region_fence WHERE region = $1', [regionId]))[0];
    return r ? fenceRow(r) : undefined;
  }

  /** The region's recorded committed plans, by revision. */
  async listRegionPlans(regionId: string): Promise<RegionPlanRecord[]> {
    return (await this.db.query('SELECT * FROM region_plans WHERE region = $1 ORDER BY revision', [regionId])).map(regionPlanRow);
  }

  // ── priority requests ──

  async openPriorityRequest(actor: Actor, r: NewPriorityRequest): Promise<PriorityRequest> {
    for (const k of ['requestId', 'vehicleId', 'intersectionId', 'priorityClass', 'client'] as const) if (typeof r[k] !== 'string' || r[k] === '') throw invalid(`openPriorityRequest: ${k} is required`);
    if (!(isInt(r.requestedAtMs) && isInt(r.etaMs))) throw invalid('openPriorityRequest: requestedAtMs and etaMs must be whole milliseconds');
    return this.write(actor, async (tx, nowMs) => {
      const existing = (await tx.query('SELECT * FROM priority_requests WHERE request_id = $1', [r.requestId]))[0];
      if (existing && existing['state'] !== 'open') throw new ConflictError(`priority request ${r.requestId} is closed`);
      if (existing) {
        await tx.run('UPDATE priority_requests SET eta_ms = $1 WHERE request_id = $2', [r.etaMs, r.requestId]);
      } else {
        await tx.run(
          `INSERT INTO priority_requests (request_id, vehicle_id, intersection_id, priority_class, client, requested_at_ms, eta_ms, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open')`,
          [r.requestId, r.vehicleId, r.intersectionId, r.priorityClass, r.client, r.requestedAtMs, r.etaMs],
        );
      }
      await appendAudit(tx, actor, existing ? 'priority.update' : 'priority.open', { requestId: r.requestId, vehicleId: r.vehicleId, intersectionId: r.intersectionId, priorityClass: r.priorityClass, etaMs: r.etaMs }, nowMs);
      return priorityRow((await tx.query('SELECT * FROM priority_requests WHERE request_id = $1', [r.requestId]))[0]!);
    });
  }

  async decidePriorityRequest(actor: Actor, requestId: string, d: { decision: string; reason: string; decidedAtMs: number }): Promise<PriorityRequest> {
    return this.write(actor, async (tx, nowMs) => {
      const changed = await tx.run(`UPDATE priority_requests SET decision = $1, decision_reason = $2, decided_at_ms = $3 WHERE request_id = $4 AND state = 'open'`, [d.decision, d.reason, d.decidedAtMs, requestId]);
      if (changed !== 1) throw await this.whyNotOpen(tx, requestId);
      await appendAudit(tx, actor, 'priority.decide', { requestId, decision: d.decision, reason: d.reason }, nowMs);
      return priorityRow((await tx.query('SELECT * FROM priority_requests WHERE request_id = $1', [requestId]))[0]!);
    });
  }

  async closePriorityRequest(actor: Actor, requestId: string, c: { reason: string; closedAtMs: number }): Promise<PriorityRequest> {
    return this.write(actor, async (tx, nowMs) => {
      const changed = await tx.run(`UPDATE priority_requests SET state = 'closed', closed_at_ms = $1, close_reason = $2 WHERE request_id = $3 AND state = 'open'`, [c.closedAtMs, c.reason, requestId]);
      if (changed !== 1) throw await this.whyNotOpen(tx, requestId);
      await appendAudit(tx, actor, 'priority.close', { requestId, reason: c.reason }, nowMs);
      return priorityRow((await tx.query('SELECT * FROM priority_requests WHERE request_id = $1', [requestId]))[0]!);
    });
  }

  async journalPriority(actor: Actor, ops: readonly PriorityOp[]): Promise<{ applied: number; skipped: number }> {
    if (ops.length === 0) return { applied: 0, skipped: 0 };
    return this.write(actor, async (tx, nowMs) => {
      let applied = 0;
      const listed: unknown[] = [];
      for (const op of ops) {
        let changed = 0;
        if (op.kind === 'open') {
          const r = op.request;
          changed = await tx.run(
            `INSERT INTO priority_requests (request_id, vehicle_id, intersection_id, priority_class, client, requested_at_ms, eta_ms, state)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') ON CONFLICT (request_id) DO UPDATE SET eta_ms = excluded.eta_ms WHERE priority_requests.state = 'open'`,
            [r.requestId, r.vehicleId, r.intersectionId, r.priorityClass, r.client, Math.round(r.requestedAtMs), Math.round(r.etaMs)],
          );
          listed.push({ op: 'open', requestId: r.requestId, vehicleId: r.vehicleId, intersectionId: r.intersectionId, priorityClass: r.priorityClass, etaMs: Math.round(r.etaMs), ok: changed === 1 });
        } else if (op.kind === 'decide') {
          changed = await tx.run(`UPDATE priority_requests SET decision = $1, decision_reason = $2, decided_at_ms = $3 WHERE request_id = $4 AND state = 'open'`, [op.decision, op.reason, Math.round(op.decidedAtMs), op.requestId]);
          listed.push({ op: 'decide', requestId: op.requestId, decision: op.decision, reason: op.reason, ok: changed === 1 });
        } else {
          changed = await tx.run(`UPDATE priority_requests SET state = 'closed', closed_at_ms = $1, close_reason = $2 WHERE request_id = $3 AND state = 'open'`, [Math.round(op.closedAtMs), op.reason, op.requestId]);
          listed.push({ op: 'close', requestId: op.requestId, reason: op.reason, ok: changed === 1 });
        }
        if (changed === 1) applied++;
      }
      await appendAudit(tx, actor, 'priority.batch', { ops: listed }, nowMs);
      return { applied, skipped: ops.length - applied };
    });
  }

  private async whyNotOpen(tx: Tx, requestId: string): Promise<GreenwaveError> {
    const exists = (await tx.query('SELECT state FROM priority_requests WHERE request_id = $1', [requestId])).length > 0;
    return exists ? new ConflictError(`priority request ${requestId} is closed`) : new NotFoundError(`priority request ${requestId}`);
  }

  async getPriorityRequest(requestId: string): Promise<PriorityRequest | undefined> {
    const r = (await this.db.query('SELECT * FROM priority_requests WHERE request_id = $1', [requestId]))[0];
    return r ? priorityRow(r) : undefined;
  }

  async listOpenPriorityRequests(): Promise<PriorityRequest[]> {
    return (await this.db.query(`SELECT * FROM priority_requests WHERE state = 'open' ORDER BY requested_at_ms, request_id`)).map(priorityRow);
  }

  // ── event log ──

  async insertEvents(actor: Actor, events: readonly ControllerEvent[], progress: EventProgress = {}): Promise<number> {
    const w = prepareEventWrite(events, progress);
    if (w === undefined) return 0;
    return this.write(actor, (tx, nowMs) => writeEvents(tx, actor, w, nowMs));
  }

  async eventCursors(): Promise<StoredEventCursor[]> {
    return (await this.db.query('SELECT * FROM event_cursors ORDER BY controller_id')).map(cursorRow);
  }

  events(q: EventQuery): Promise<ControllerEvent[]> {
    return queryEvents(this.db, q);
  }

  // ── parking occupancy history ──

  async insertOccupancyRecords(actor: Actor, records: readonly OccupancyRecord[]): Promise<number> {
    const rows = prepareOccupancyRows(records);
    if (rows.length === 0) return 0;
    return this.write(actor, (tx, nowMs) => writeOccupancy(tx, actor, rows, nowMs));
  }

  occupancyHistory(q: OccupancyQuery): Promise<OccupancyRecord[]> {
    return queryOccupancy(this.db, q);
  }

  deleteOccupancyHistoryOlderThan(actor: Actor, days: number, nowMs: number): Promise<number> {
    return this.write(actor, (tx, atMs) => deleteOccupancyBefore(tx, actor, days, nowMs, atMs));
  }

  // ── traffic incidents ──

  async saveIncident(actor: Actor, incident: StoredIncident): Promise<void> {
    const row = prepareIncident(incident);
    return this.write(actor, (tx) => writeIncident(tx, row));
  }

  listIncidents(): Promise<StoredIncident[]> {
    return queryIncidents(this.db);
  }

  // ── audit ──

  recordAudit(actor: Actor, action: string, detail: unknown): Promise<AuditRow> {
    if (typeof action !== 'string' || action === '') return Promise.reject(invalid('recordAudit: an action is required'));
    return this.write(actor, (tx, nowMs) => appendAudit(tx, actor, action, detail, nowMs));
  }

  async listAudit(q: AuditQuery = {}): Promise<AuditRow[]> {
    const params: unknown[] = [q.afterSeq ?? 0];
    let where = 'seq > $1';
    if (q.actor !== undefined) where += ` AND actor = $${params.push(q.actor)}`;
    // A prefix match without LIKE's wildcards: an action holding '%' or '_' must not widen the search.
    if (q.actionPrefix !== undefined && q.actionPrefix !== '') where += ` AND substr(action, 1, ${q.actionPrefix.length}) = $${params.push(q.actionPrefix)}`;
    if (q.fromMs !== undefined) where += ` AND at_ms >= $${params.push(q.fromMs)}`;
    if (q.toMs !== undefined) where += ` AND at_ms < $${params.push(q.toMs)}`;
    return (await this.db.query(`SELECT * FROM audit_log WHERE ${where} ORDER BY seq LIMIT $${params.push(q.limit ?? 1000)}`, params)).map(auditRow);
  }

  // ── plan lifecycle (./lifecycle.ts) ──

  decidePlan(actor: Actor, planId: number, d: { decision: PlanDecisionKind; comment: string; roles: readonly string[] }): Promise<PlanDecision> {
    return this.write(actor, (tx, nowMs) => decidePlan(tx, actor, planId, d, nowMs));
  }

  async planDecisions(planId: number): Promise<PlanDecision[]> {
    return (await this.db.query('SELECT * FROM plan_decisions WHERE plan_id = $1 ORDER BY id', [planId])).map(decisionRow);
  }

  setLock(actor: Actor, lock: NewLock): Promise<Lock> {
    return this.write(actor, (tx, nowMs) => setLock(tx, actor, lock, nowMs));
  }

  releaseLock(actor: Actor, id: number, reason: string): Promise<Lock> {
    return this.write(actor, (tx, nowMs) => releaseLock(tx, actor, id, reason, nowMs));
  }

  async listLocks(q: { active?: boolean } = {}): Promise<Lock[]> {
    return (await this.db.query(`SELECT * FROM locks${q.active ? ' WHERE released_at_ms IS NULL' : ''} ORDER BY id`)).map(lockRow);
  }

  verifyAudit(): Promise<AuditVerification> {
    return verifyAuditChain(this.db);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** A fenced view (SqlStorage.fenced): the storage's driver, a fence on every write, nothing to close. */
class FencedView extends SqlStorage {
  constructor(db: Driver, readOnly: boolean, nowMs: () => number, fence: RegionFence) {
    super(db, readOnly, nowMs, fence);
  }

  override close(): Promise<void> {
    return Promise.resolve();
  }
}

export { LATEST_SCHEMA_VERSION };
