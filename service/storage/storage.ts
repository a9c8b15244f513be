/**
 * The control centre's memory, as the service sees it: the `Storage` contract
 * and the records it keeps (docs/storage.md). Implemented by SqliteStorage
 * (./sqlite.ts, the embedded default) and PostgresStorage (./postgres.ts); both
 * are SqlStorage (./sqlStorage.ts) over a different driver. The service, the
 * deployer, crash recovery and `greenwave audit verify` call it.
 *
 * Every method is async so that a networked database fits. Every write takes
 * the `Actor` that asked for it and appends one audit row in the same
 * transaction as the write, so the audit log cannot miss a committed write nor
 * record one that rolled back. Times are Unix milliseconds (`…Ms`) unless named
 * otherwise; failures are GreenwaveErrors with a stable `code` (./errors.ts).
 */

import type { RegionFenceRow, RegionPlanRecord } from './regionFence.js';

/** Who asked for a write, and from where. `user` is the authenticated client (or 'greenwave' for the system itself). */
export interface Actor {
  readonly user: string;
  /** The peer address the request came from (e.g. 'ipv4:10.0.0.7:51234'), when there was one. */
  readonly peer?: string | undefined;
}

/** A stored version of a network file. Saving identical text under the same name returns the existing version. */
export interface NetworkVersion {
  readonly id: number;
  readonly name: string;
  /** SHA-256 of the UTF-8 JSON text, lowercase hex. */
  readonly contentSha256: string;
  readonly json: string;
  readonly createdAtMs: number;
  readonly author: string;
}

/** Vehicles counted by one detector in one interval (the counts CSV's columns). */
export interface DetectorCount {
  readonly detectorId: string;
  readonly intervalStartMs: number;
  readonly intervalS: number;
  readonly volumeVeh: number;
  readonly occupancyPct: number;
}

/**
 * One entry of a car park's occupancy history (docs/parking.md, "History"): an absolute report
 * from a car-park system as it was applied, or a correction the occupancy tracker made (a report
 * that moved a count-propagated estimate: drift; or a clamp to 0…capacity).
 */
export interface OccupancyRecord {
  readonly carParkId: string;
  /** The report's time, or the time the correction refers to, ms since 1970. */
  readonly atMs: number;
  readonly kind: 'report' | 'correction';
  /** Reported occupied spaces, or the estimate after the correction. */
  readonly occupied: number;
  /** Corrections: the estimate before (null for reports). */
  readonly beforeOccupied: number | null;
  /** Reports: the client that sent it; corrections: 'report', 'clampHigh' or 'clampLow'. */
  readonly source: string;
}

export interface OccupancyQuery {
  readonly carParkId: string;
  readonly fromMs: number;
  readonly toMs: number;
  /** Oldest first, at most this many (default 1000). */
  readonly limit?: number;
}

/**
 * A traffic incident as the service keeps it (service/trafficState.ts IncidentRecord, in ms):
 * detected by the loops or reported by an operator, open until cleared.
 */
export interface StoredIncident {
  readonly incidentId: string;
  readonly linkId: string;
  readonly detectorId: string;
  readonly source: string;
  readonly detectedMs: number;
  /** null while open. */
  readonly clearedMs: number | null;
  readonly confidence: number;
  readonly location: string;
  readonly reportedBy: string;
  readonly clearedBy: string;
  readonly note: string;
  readonly lanesBlocked: number;
}

/** What a timing plan applies to: one intersection or a whole network. */
export interface PlanScope {
  readonly kind: 'intersection' | 'network';
  readonly id: string;
}

export type PlanSource = 'optimizer' | 'operator';

export interface NewTimingPlan {
  readonly scope: PlanScope;
  /** The plan itself, stored as canonical JSON text. */
  readonly body: unknown;
  readonly reason: string;
  readonly source: PlanSource;
  /** The version this one was derived from (an operator's edit of the optimizer's plan, say). */
  readonly parentVersion?: number | undefined;
  readonly networkVersionId?: number | undefined;
}

export interface TimingPlan {
  /** Unique over all scopes; deployments refer to it. */
  readonly planId: number;
  readonly scope: PlanScope;
  /** 1, 2, … per scope. */
  readonly version: number;
  readonly body: unknown;
  readonly author: string;
  readonly createdAtMs: number;
  readonly reason: string;
  readonly source: PlanSource;
  readonly parentVersion: number | null;
  readonly networkVersionId: number | null;
}

/**
 * A deployment's life (./deployments.ts): staged → committed → confirmed, and
 * from staged or committed to failed or rolled_back. confirmed, failed and
 * rolled_back are final.
 */
export type DeploymentState = 'staged' | 'committed' | 'confirmed' | 'failed' | 'rolled_back';

export interface NewDeployment {
  readonly controllerId: string;
  readonly planId: number;
  /** The plan id as the controller shows it on the wire (Modbus 1..65535); confirmation must read this back. */
  readonly wirePlanId: number;
  /** Groups the deployments of one rollout (one plan to many controllers). */
  readonly rolloutId?: string | undefined;
}

export interface Deployment {
  readonly id: number;
  readonly controllerId: string;
  readonly planId: number;
  readonly wirePlanId: number;
  readonly rolloutId: string | null;
  readonly state: DeploymentState;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** The plan id the controller reported when the deployment was confirmed. */
  readonly readBackPlanId: number | null;
  /** Why it failed or was rolled back. */
  readonly reason: string | null;
}

export interface DeploymentTransition {
  /** The state the caller believes the deployment is in; the change happens only if it still is. */
  readonly from: DeploymentState;
  readonly to: DeploymentState;
  /** Required for → confirmed: the plan id read back from the controller. */
  readonly readBackPlanId?: number | undefined;
  /** For → failed / rolled_back: why. */
  readonly reason?: string | undefined;
}

export interface NewPriorityRequest {
  readonly requestId: string;
  readonly vehicleId: string;
  readonly intersectionId: string;
  /** The priority class (engine/priority/policy.ts PriorityClass), e.g. 'bus'. */
  readonly priorityClass: string;
  readonly requestedAtMs: number;
  /** When the vehicle is expected at the stop bar. */
  readonly etaMs: number;
  /** The client that made the request (only it or an operator may change it). */
  readonly client: string;
}

export interface PriorityRequest extends NewPriorityRequest {
  readonly state: 'open' | 'closed';
  readonly decision: string | null;
  readonly decisionReason: string | null;
  readonly decidedAtMs: number | null;
  readonly closedAtMs: number | null;
  readonly closeReason: string | null;
}

/**
 * One change to the priority-request record, for `journalPriority`, which writes many in one
 * transaction (the service records requests as they come, in batches, off the request path).
 */
export type PriorityOp =
  | { readonly kind: 'open'; readonly request: NewPriorityRequest }
  | { readonly kind: 'decide'; readonly requestId: string; readonly decision: string; readonly reason: string; readonly decidedAtMs: number }
  | { readonly kind: 'close'; readonly requestId: string; readonly reason: string; readonly closedAtMs: number };

/** One high-resolution controller event in the Indiana enumeration ATSPM uses (e.g. code 1 = phase begin green, parameter = phase). */
export interface ControllerEvent {
  readonly locationId: string;
  readonly timestampMs: number;
  readonly eventCode: number;
  readonly eventParam: number;
}

/**
 * Where the event collector (service/eventCollector.ts) stands in one controller's event log
 * (docs/modbus-register-map.md "Event log"): every record of log `logId` before `nextSeq` was
 * stored or recorded as lost. Kept so that a restarted service goes on where it stopped.
 */
export interface EventCursor {
  /** The controller, by the intersection it runs (the `locationId` of its events). */
  readonly controllerId: string;
  /** 1..65535, new at every power-up of the controller. */
  readonly logId: number;
  readonly nextSeq: number;
}

export interface StoredEventCursor extends EventCursor {
  readonly updatedAtMs: number;
}

/** Records [fromSeq, toSeq) of a controller's log, overwritten before they were collected. */
export interface EventGap {
  readonly locationId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
}

/**
 * A controller whose log began again (power-up, or a wrap of the numbering): what it logged
 * after `previousNextSeq` of log `previousLogId` was never read and cannot be any more.
 */
export interface EventLogRestart {
  readonly controllerId: string;
  readonly previousLogId: number;
  readonly previousNextSeq: number;
  readonly logId: number;
  /** Where reading of the new log began (its oldest record held). */
  readonly oldestSeq: number;
}

/** What a batch of events moves along with it, committed in the same transaction (insertEvents). */
export interface EventProgress {
  /** The collector's cursors after the batch (one per controller; the last one given wins). */
  readonly cursors?: readonly EventCursor[] | undefined;
  /** Gaps found while reading the batch, audited as 'events.gap'. */
  readonly gaps?: readonly EventGap[] | undefined;
  /** Logs found restarted, audited as 'events.restart'. */
  readonly restarts?: readonly EventLogRestart[] | undefined;
}

export interface EventQuery {
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  readonly locationId?: string | undefined;
  readonly eventCodes?: readonly number[] | undefined;
  readonly limit?: number | undefined;
}

/** A reviewer's decision on a proposed plan (service/lifecycle/: who may decide is the service's policy). */
export type PlanDecisionKind = 'approve' | 'reject';

export interface PlanDecision {
  readonly id: number;
  readonly planId: number;
  readonly actor: string;
  /** The roles the reviewer held when deciding (for the record). */
  readonly roles: readonly string[];
  readonly decision: PlanDecisionKind;
  readonly comment: string;
  readonly atMs: number;
}

/**
 * A lock pins something the optimizer must not change: an intersection's whole plan
 * (`what: 'plan'`, value `{ planId }`: the stored plan whose timing of that intersection is kept)
 * or a corridor's or intersection's cycle (`what: 'cycle'`, value `{ cycleS }`).
 */
export interface NewLock {
  readonly scope: { readonly kind: 'intersection' | 'corridor'; readonly id: string };
  readonly what: 'plan' | 'cycle';
  readonly value: unknown;
  readonly reason: string;
}

export interface Lock extends NewLock {
  readonly id: number;
  readonly author: string;
  readonly createdAtMs: number;
  readonly releasedAtMs: number | null;
  readonly releasedBy: string | null;
}

export interface AuditQuery {
  readonly afterSeq?: number | undefined;
  readonly limit?: number | undefined;
  /** Rows by this actor only. */
  readonly actor?: string | undefined;
  /** Rows whose action starts with this (e.g. 'plan.' or 'auth.refused'). */
  readonly actionPrefix?: string | undefined;
  readonly fromMs?: number | undefined;
  /** Exclusive. */
  readonly toMs?: number | undefined;
}

/** One row of the append-only audit log (hash definition: ./auditHash.ts, docs/storage.md). */
export interface AuditRow {
  readonly seq: number;
  readonly atMs: number;
  readonly actor: string;
  readonly peer: string | null;
  readonly action: string;
  /** The detail as stored: canonical JSON text. */
  readonly detail: string;
  readonly prevHash: string;
  readonly hash: string;
}

export type AuditVerification =
  | { readonly ok: true; readonly rowsChecked: number; readonly headHash: string }
  | {
      readonly ok: false;
      readonly rowsChecked: number;
      /** The first row that does not belong to an intact chain. */
      readonly badSeq: number;
      readonly problem: 'hash mismatch' | 'previous hash mismatch' | 'sequence gap';
      readonly message: string;
    };

export interface Storage {
  /** 'sqlite' or 'postgres'. */
  readonly dialect: string;
  /** The schema version the database is at after opening (the newest migration's). */
  schemaVersion(): Promise<number>;

  saveNetworkVersion(actor: Actor, name: string, json: string): Promise<NetworkVersion>;
  getNetworkVersion(id: number): Promise<NetworkVersion | undefined>;
  latestNetworkVersion(name: string): Promise<NetworkVersion | undefined>;
  listNetworkVersions(): Promise<NetworkVersion[]>;

  /** Upserts counts (a repeated detector + interval replaces the earlier one); resolves to the rows written. */
  insertDetectorCounts(actor: Actor, counts: readonly DetectorCount[]): Promise<number>;
  detectorCounts(q: { fromMs: number; toMs: number; detectorId?: string; intervalS?: number }): Promise<DetectorCount[]>;
  /** Retention: deletes counts whose interval started more than `days` before `nowMs`; resolves to the rows deleted. */
  deleteDetectorCountsOlderThan(actor: Actor, days: number, nowMs: number): Promise<number>;
  /**
   * Downsampling: replaces `fromIntervalS` counts that start before `beforeMs` by
   * `toIntervalS` rollups (volume summed, occupancy averaged over the counts present).
   * Only whole rollup intervals are touched: `beforeMs` is rounded down to a multiple
   * of `toIntervalS`. Resolves to the rows rolled up and the rollups written.
   */
  downsampleDetectorCounts(actor: Actor, opts: { fromIntervalS: number; toIntervalS: number; beforeMs: number }): Promise<{ rowsRolledUp: number; rollupsWritten: number }>;

  /**
   * Stores an incident, or its new state under the same id (cleared, notes). No audit row: an
   * operator's report and clearing are audited where they are made.
   */
  saveIncident(actor: Actor, incident: StoredIncident): Promise<void>;
  /** Every stored incident, by id number (INC-1, INC-2, …) then id. */
  listIncidents(): Promise<StoredIncident[]>;

  /** Stores the next version of the scope's plan. */
  /** Appends occupancy reports and corrections (one audit row per call); resolves to the rows written. */
  insertOccupancyRecords(actor: Actor, records: readonly OccupancyRecord[]): Promise<number>;
  /** A car park's history in [fromMs, toMs), oldest first. */
  occupancyHistory(q: OccupancyQuery): Promise<OccupancyRecord[]>;
  /** Retention: deletes records more than `days` before `nowMs` (as deleteDetectorCountsOlderThan). */
  deleteOccupancyHistoryOlderThan(actor: Actor, days: number, nowMs: number): Promise<number>;

  saveTimingPlan(actor: Actor, plan: NewTimingPlan): Promise<TimingPlan>;
  getTimingPlan(planId: number): Promise<TimingPlan | undefined>;
  timingPlanVersion(scope: PlanScope, version: number): Promise<TimingPlan | undefined>;
  latestTimingPlan(scope: PlanScope): Promise<TimingPlan | undefined>;
  /** Every version of the scope, oldest first. */
  listTimingPlans(scope: PlanScope): Promise<TimingPlan[]>;

  /** A new deployment in state 'staged'. Refused (Conflict) while the controller has another one in flight. */
  stageDeployment(actor: Actor, d: NewDeployment): Promise<Deployment>;
  /** Stages a whole rollout in one transaction: every deployment or, if one is refused, none. */
  stageDeployments(actor: Actor, ds: readonly NewDeployment[]): Promise<Deployment[]>;
  /** Moves a deployment along the state machine; refused atomically (IllegalTransition) unless it is in `t.from` and `t.from → t.to` is legal. */
  transitionDeployment(actor: Actor, id: number, t: DeploymentTransition): Promise<Deployment>;
  getDeployment(id: number): Promise<Deployment | undefined>;
  listDeployments(q?: { controllerId?: string; rolloutId?: string; planId?: number }): Promise<Deployment[]>;
  /** Deployments still staged or committed: what crash recovery must finish or report. */
  listUnfinishedDeployments(): Promise<Deployment[]>;

  /**
   * A cluster's record (service/storage/regionFence.ts, docs/cluster.md): committed plan
   * `revision` of a region (the plan bucket's entry) stored once as a plan of scope network
   * `region:<id>`; a later call for the same revision resolves to the plan stored the first time.
   */
  recordRegionPlan(actor: Actor, p: { regionId: string; revision: number; body: unknown; reason: string }): Promise<TimingPlan>;
  /** Ends as failed, with `reason`, the deployments in flight to these controllers (a region's previous holder's); resolves to how many. */
  supersedeDeployments(actor: Actor, controllerIds: readonly string[], reason: string): Promise<number>;
  /** The region's fencing token as recorded by the last fenced write (undefined: none yet). */
  regionFence(regionId: string): Promise<RegionFenceRow | undefined>;
  /** The region's recorded committed plans, by revision. */
  listRegionPlans(regionId: string): Promise<RegionPlanRecord[]>;

  /** Records a request (or updates the ETA of an open one with the same id); refused (Conflict) if that id is closed. */
  openPriorityRequest(actor: Actor, r: NewPriorityRequest): Promise<PriorityRequest>;
  decidePriorityRequest(actor: Actor, requestId: string, d: { decision: string; reason: string; decidedAtMs: number }): Promise<PriorityRequest>;
  closePriorityRequest(actor: Actor, requestId: string, c: { reason: string; closedAtMs: number }): Promise<PriorityRequest>;
  /**
   * Applies the ops in order in one transaction with one audit row ('priority.batch', listing
   * them). An op that does not apply (closing an unknown or closed request, say) is skipped and
   * counted, not fatal: the batch records what happened, in order.
   */
  journalPriority(actor: Actor, ops: readonly PriorityOp[]): Promise<{ applied: number; skipped: number }>;
  getPriorityRequest(requestId: string): Promise<PriorityRequest | undefined>;
  listOpenPriorityRequests(): Promise<PriorityRequest[]>;

  /**
   * Appends events (one 'events.insert' audit row per call) and, in the same transaction, the
   * collector's cursors after them, the gaps found ('events.gap') and the logs found restarted
   * ('events.restart'; each row lists at most 100), so a crash cannot store events without the
   * cursor past them, nor move a cursor past a loss that is not on record. Resolves to the
   * events written; a call with only progress writes that.
   */
  insertEvents(actor: Actor, events: readonly ControllerEvent[], progress?: EventProgress): Promise<number>;
  /** The collector's cursors, by controller id. */
  eventCursors(): Promise<StoredEventCursor[]>;
  /** Events in [fromMs, toMs), by time then insertion order. */
  events(q: EventQuery): Promise<ControllerEvent[]>;

  /**
   * Records a reviewer's decision on a stored plan. Refused (Conflict) when the same person
   * already decided on it, or when it was rejected (a rejected plan stays rejected: propose anew).
   */
  decidePlan(actor: Actor, planId: number, d: { decision: PlanDecisionKind; comment: string; roles: readonly string[] }): Promise<PlanDecision>;
  /** Decisions on a plan, oldest first. */
  planDecisions(planId: number): Promise<PlanDecision[]>;

  /** Sets a lock; refused (Conflict) while another lock of the same scope and kind is in force. */
  setLock(actor: Actor, lock: NewLock): Promise<Lock>;
  /** Releases a lock in force; refused (Conflict) if it was already released. */
  releaseLock(actor: Actor, id: number, reason: string): Promise<Lock>;
  /** Locks, oldest first; `active` = only those in force. */
  listLocks(q?: { active?: boolean }): Promise<Lock[]>;

  /** Appends an audit row for something that is not a storage write (e.g. 'auth.refused'). */
  recordAudit(actor: Actor, action: string, detail: unknown): Promise<AuditRow>;
  /** Audit rows after `afterSeq`, oldest first, filtered (default limit 1000). */
  listAudit(q?: AuditQuery): Promise<AuditRow[]>;
  /** Walks the whole chain from the first row and reports the first row that breaks it. */
  verifyAudit(): Promise<AuditVerification>;

  close(): Promise<void>;
}
