/**
 * The one storage test suite, run against every implementation: by
 * ./sqlite.test.ts on a temporary file and by ./postgres.test.ts on a real
 * PostgreSQL server the test starts. A harness gives each test a fresh, empty
 * database, handles onto it, and raw SQL (to tamper with the audit log the way
 * someone with database access could). Not compiled into dist/ (tsconfig.build.json).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { auditHash, canonicalJson, GENESIS_HASH } from './auditHash.js';
import { DEPLOYMENT_STATES, NEXT_STATES } from './deployments.js';
import { LATEST_SCHEMA_VERSION } from './migrations.js';
import type { SqlStorage } from './sqlStorage.js';
import type { Actor, DeploymentState, Storage, StoredIncident } from './storage.js';

export interface StorageTestDb {
  /** Another handle on this test's database; the first migrates it. */
  open(): Promise<Storage>;
  /** Runs SQL on the database directly, outside the storage. */
  exec(sql: string): Promise<void>;
}

export interface StorageHarness {
  readonly dialect: 'sqlite' | 'postgres';
  /** A new, empty database. */
  fresh(): Promise<StorageTestDb>;
  /** Statements that remove the audit log's append-only triggers (what a tamperer would do first). */
  readonly dropAuditGuards: readonly string[];
}

const alice: Actor = { user: 'alice', peer: 'ipv4:10.0.0.7:51234' };
const optimizer: Actor = { user: 'optimizer' };

async function rejection(p: Promise<unknown>): Promise<GreenwaveError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GreenwaveError);
    return e as GreenwaveError;
  }
  throw new Error('expected the promise to reject');
}

/** A fresh database and one open handle; closes every handle it opened. */
async function withStorage(h: StorageHarness, fn: (s: Storage, db: StorageTestDb, more: () => Promise<Storage>) => Promise<void>): Promise<void> {
  const db = await h.fresh();
  const opened: Storage[] = [];
  const open = async (): Promise<Storage> => {
    const s = await db.open();
    opened.push(s);
    return s;
  };
  try {
    await fn(await open(), db, open);
  } finally {
    for (const s of opened) await s.close();
  }
}

async function planFor(s: Storage, id = 'I1'): Promise<number> {
  return (await s.saveTimingPlan(optimizer, { scope: { kind: 'intersection', id }, body: { cycleS: 90 }, reason: 'test', source: 'optimizer' })).planId;
}

export function storageSuite(name: string, harness: () => StorageHarness): void {
  describe(`storage suite: ${name}`, () => {
    it('migrates a fresh database once; reopening is a no-op; a newer schema is refused', async () => {
      const h = harness();
      await withStorage(h, async (s, db, more) => {
        expect(await s.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
        const again = await more();
        expect(await again.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
        const migrations = (await s.listAudit()).filter((r) => r.action === 'schema.migrate');
        expect(migrations).toHaveLength(1);
        expect(JSON.parse(migrations[0]!.detail)).toMatchObject({ fromVersion: 0, toVersion: LATEST_SCHEMA_VERSION });
        await db.exec(`INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (${LATEST_SCHEMA_VERSION + 1}, 'from the future', 0)`);
        const e = await rejection(db.open());
        expect(e.code).toBe(ErrorCode.SchemaTooNew);
        expect(e.message).toMatch(/newer than this greenwave/);
      });
    });

    it('network versions: round trip, identical text is not a new version', async () => {
      await withStorage(harness(), async (s) => {
        const a = await s.saveNetworkVersion(alice, 'demo', '{"name":"demo","v":1}');
        const same = await s.saveNetworkVersion(alice, 'demo', '{"name":"demo","v":1}');
        const b = await s.saveNetworkVersion(alice, 'demo', '{"name":"demo","v":2}');
        expect(same.id).toBe(a.id);
        expect(b.id).toBeGreaterThan(a.id);
        expect(a.contentSha256).toMatch(/^[0-9a-f]{64}$/);
        expect(await s.getNetworkVersion(a.id)).toEqual(a);
        expect(await s.latestNetworkVersion('demo')).toEqual(b);
        expect(await s.latestNetworkVersion('other')).toBeUndefined();
        expect((await s.listNetworkVersions()).map((v) => v.id)).toEqual([a.id, b.id]);
        expect(a.author).toBe('alice');
      });
    });

    it('detector counts: batched upsert, range query, retention, 15-min rollups of 1-min data', async () => {
      await withStorage(harness(), async (s) => {
        const day0 = Date.UTC(2024, 0, 1);
        const minutes = Array.from({ length: 30 }, (_, m) => ({ detectorId: 'D1', intervalStartMs: day0 + m * 60_000, intervalS: 60, volumeVeh: m, occupancyPct: m % 2 === 0 ? 10 : 20 }));
        // A repeated key replaces the earlier row, within a batch too.
        expect(await s.insertDetectorCounts(alice, [...minutes, { ...minutes[0]!, volumeVeh: 5 }])).toBe(30);
        expect(await s.insertDetectorCounts(alice, [{ detectorId: 'D2', intervalStartMs: day0, intervalS: 60, volumeVeh: 7, occupancyPct: 1.5 }])).toBe(1);
        const got = await s.detectorCounts({ fromMs: day0, toMs: day0 + 3_600_000, detectorId: 'D1' });
        expect(got).toHaveLength(30);
        expect(got[0]).toEqual({ ...minutes[0], volumeVeh: 5 });
        expect(got[29]).toEqual(minutes[29]);
        // Rollup up to minute 25: only the first whole quarter hour [0, 15) is touched.
        const r = await s.downsampleDetectorCounts(alice, { fromIntervalS: 60, toIntervalS: 900, beforeMs: day0 + 25 * 60_000 });
        expect(r).toEqual({ rowsRolledUp: 16, rollupsWritten: 2 });
        const quarter = await s.detectorCounts({ fromMs: day0, toMs: day0 + 3_600_000, detectorId: 'D1', intervalS: 900 });
        const expectedVolume = 5 + Array.from({ length: 14 }, (_, k) => k + 1).reduce((a, b) => a + b, 0);
        expect(quarter).toHaveLength(1);
        expect(quarter[0]!.volumeVeh).toBeCloseTo(expectedVolume, 9);
        expect(quarter[0]!.occupancyPct).toBeCloseTo((8 * 10 + 7 * 20) / 15, 9);
        expect(await s.detectorCounts({ fromMs: day0, toMs: day0 + 3_600_000, detectorId: 'D1', intervalS: 60 })).toHaveLength(15);
        expect((await s.detectorCounts({ fromMs: day0, toMs: day0 + 1, detectorId: 'D2' }))[0]).toMatchObject({ intervalS: 900, volumeVeh: 7 });
        // Retention: 2 days after, keeping 1 day, everything goes.
        expect(await s.deleteDetectorCountsOlderThan(alice, 1, day0 + 2 * 86_400_000)).toBe(17);
        expect(await s.detectorCounts({ fromMs: 0, toMs: day0 * 2 })).toEqual([]);
        expect((await rejection(s.insertDetectorCounts(alice, [{ ...minutes[0]!, occupancyPct: 140 }]))).code).toBe(ErrorCode.InvalidInput);
        expect((await rejection(s.downsampleDetectorCounts(alice, { fromIntervalS: 60, toIntervalS: 90, beforeMs: day0 }))).code).toBe(ErrorCode.InvalidInput);
      });
    });

    it('traffic incidents: saved whole, a later save of the same id updates it, read back in id order', async () => {
      await withStorage(harness(), async (s) => {
        const t0 = Date.UTC(2026, 11, 7, 8);
        const inc = (n: number, over: Partial<StoredIncident> = {}): StoredIncident => ({ incidentId: `INC-${n}`, linkId: 'L-I2-I3', detectorId: 'I3-EB-2-S', source: 'loops', detectedMs: t0 + n * 1000, clearedMs: null, confidence: 0.75, location: 'upstream', reportedBy: '', clearedBy: '', note: '', lanesBlocked: 0, ...over });
        await s.saveIncident(alice, inc(2, { source: 'operator', reportedBy: 'alice', note: 'truck', lanesBlocked: 1, detectorId: '', location: '' }));
        await s.saveIncident(optimizer, inc(10));
        await s.saveIncident(optimizer, inc(1));
        await s.saveIncident(alice, inc(1, { clearedMs: t0 + 60_000, clearedBy: 'alice', note: 'false alarm' }));
        const got = await s.listIncidents();
        expect(got.map((x) => x.incidentId)).toEqual(['INC-1', 'INC-2', 'INC-10']);
        expect(got[0]).toEqual(inc(1, { clearedMs: t0 + 60_000, clearedBy: 'alice', note: 'false alarm' }));
        expect(got[1]).toEqual(inc(2, { source: 'operator', reportedBy: 'alice', note: 'truck', lanesBlocked: 1, detectorId: '', location: '' }));
        expect((await s.listAudit()).filter((r) => r.action.startsWith('incident'))).toHaveLength(0);
        expect((await rejection(s.saveIncident(alice, inc(3, { lanesBlocked: -1 })))).code).toBe(ErrorCode.InvalidInput);
        expect((await rejection(s.saveIncident(alice, inc(3, { detectedMs: 1.5 })))).code).toBe(ErrorCode.InvalidInput);
        expect(await s.listIncidents()).toHaveLength(3);
      });
    });

    it('parking occupancy history: reports and corrections per car park and time, retention, one audit row per batch', async () => {
      await withStorage(harness(), async (s) => {
        const t0 = Date.UTC(2026, 2, 2, 2);
        const records = [
          { carParkId: 'P1', atMs: t0, kind: 'report' as const, occupied: 50, beforeOccupied: null, source: 'intime-system' },
          { carParkId: 'P1', atMs: t0 + 60_000, kind: 'correction' as const, occupied: 206, beforeOccupied: 208.5, source: 'clampHigh' },
          { carParkId: 'P2', atMs: t0 + 30_000, kind: 'report' as const, occupied: 7, beforeOccupied: null, source: 'tmc-operator' },
          { carParkId: 'P1', atMs: t0 + 86_400_000, kind: 'report' as const, occupied: 12, beforeOccupied: null, source: 'intime-system' },
        ];
        expect(await s.insertOccupancyRecords(alice, records)).toBe(4);
        expect(await s.occupancyHistory({ carParkId: 'P1', fromMs: t0, toMs: t0 + 120_000 })).toEqual([records[0], records[1]]);
        expect(await s.occupancyHistory({ carParkId: 'P1', fromMs: t0, toMs: t0 + 2 * 86_400_000, limit: 1 })).toEqual([records[0]]);
        expect(await s.occupancyHistory({ carParkId: 'P9', fromMs: 0, toMs: t0 * 2 })).toEqual([]);
        expect((await s.listAudit({ actionPrefix: 'occupancy.' })).map((r) => JSON.parse(r.detail))).toEqual([{ reports: 3, corrections: 1, fromMs: t0, toMs: t0 + 86_400_000 }]);
        // Retention as for counts: a day kept, two days on, only the last report is left.
        expect(await s.deleteOccupancyHistoryOlderThan(alice, 1, t0 + 2 * 86_400_000 - 1)).toBe(3);
        expect(await s.occupancyHistory({ carParkId: 'P1', fromMs: 0, toMs: t0 * 2 })).toEqual([records[3]]);
        expect((await rejection(s.insertOccupancyRecords(alice, [{ ...records[0]!, beforeOccupied: 3 as unknown as null }]))).message).toMatch(/record 0 is malformed/);
        expect((await rejection(s.occupancyHistory({ carParkId: 'P1', fromMs: 0, toMs: 1, limit: 0 }))).code).toBe(ErrorCode.InvalidInput);
        expect((await s.verifyAudit()).ok).toBe(true);
      });
    });

    it('timing plans: versions per scope with author, reason, source and parent', async () => {
      await withStorage(harness(), async (s) => {
        const scope = { kind: 'intersection', id: 'I1' } as const;
        const body = { cycleS: 90, splits: [{ phase: 2, greenS: 30.5 }], note: 'é ✓' };
        const v1 = await s.saveTimingPlan(optimizer, { scope, body, reason: 'am peak', source: 'optimizer' });
        const v2 = await s.saveTimingPlan(alice, { scope, body: { ...body, cycleS: 100 }, reason: 'operator edit', source: 'operator', parentVersion: 1 });
        const n1 = await s.saveTimingPlan(alice, { scope: { kind: 'network', id: 'demo' }, body: {}, reason: 'x', source: 'operator' });
        expect([v1.version, v2.version, n1.version]).toEqual([1, 2, 1]);
        expect(v1).toMatchObject({ scope, body, author: 'optimizer', reason: 'am peak', source: 'optimizer', parentVersion: null });
        expect(v2).toMatchObject({ author: 'alice', source: 'operator', parentVersion: 1 });
        expect(await s.getTimingPlan(v1.planId)).toEqual(v1);
        expect(await s.timingPlanVersion(scope, 2)).toEqual(v2);
        expect(await s.latestTimingPlan(scope)).toEqual(v2);
        expect((await s.listTimingPlans(scope)).map((p) => p.version)).toEqual([1, 2]);
        expect((await rejection(s.saveTimingPlan(alice, { scope, body, reason: 'x', source: 'operator', parentVersion: 9 }))).code).toBe(ErrorCode.NotFound);
        expect((await rejection(s.saveTimingPlan(alice, { scope, body, reason: 'x', source: 'robot' as 'operator' }))).code).toBe(ErrorCode.InvalidInput);
        expect((await rejection(s.saveTimingPlan({ user: '' }, { scope, body, reason: 'x', source: 'operator' }))).code).toBe(ErrorCode.InvalidInput);
      });
    });

    it('deployments: every legal transition is taken, illegal ones are refused and change nothing', async () => {
      await withStorage(harness(), async (s) => {
        const planId = await planFor(s);
        let controller = 0;
        const walkTo = async (path: readonly DeploymentState[]) => {
          let d = await s.stageDeployment(alice, { controllerId: `C${++controller}`, planId, wirePlanId: 7, rolloutId: 'R1' });
          let from: DeploymentState = 'staged';
          for (const to of path) {
            d = await s.transitionDeployment(alice, d.id, { from, to, ...(to === 'confirmed' ? { readBackPlanId: 7 } : {}), ...(to === 'failed' || to === 'rolled_back' ? { reason: 'test' } : {}) });
            expect(d.state).toBe(to);
            from = to;
          }
          return d;
        };
        // Every legal edge of the machine.
        const paths: DeploymentState[][] = [['committed', 'confirmed'], ['committed', 'failed'], ['committed', 'rolled_back'], ['failed'], ['rolled_back']];
        const edges = new Set<string>();
        for (const p of paths) {
          const d = await walkTo(p);
          p.forEach((to, k) => edges.add(`${k === 0 ? 'staged' : p[k - 1]}→${to}`));
          if (p.includes('confirmed')) expect(d.readBackPlanId).toBe(7);
          if (p.includes('failed') || p.includes('rolled_back')) expect(d.reason).toBe('test');
        }
        const legal = DEPLOYMENT_STATES.flatMap((f) => NEXT_STATES[f].map((t) => `${f}→${t}`));
        expect([...edges].sort()).toEqual(legal.sort());
        expect(await s.listUnfinishedDeployments()).toEqual([]);

        // Illegal edges, each from a deployment really in the from-state.
        const illegal: [readonly DeploymentState[], DeploymentState][] = [
          [[], 'confirmed'],
          [[], 'staged'],
          [['committed'], 'staged'],
          [['committed'], 'committed'],
          [['committed', 'confirmed'], 'rolled_back'],
          [['committed', 'confirmed'], 'committed'],
          [['failed'], 'committed'],
          [['rolled_back'], 'staged'],
          [['committed', 'failed'], 'confirmed'],
        ];
        for (const [path, to] of illegal) {
          const d = await walkTo(path);
          const e = await rejection(s.transitionDeployment(alice, d.id, { from: d.state, to, readBackPlanId: 7 }));
          expect(e.code, `${d.state}→${to}`).toBe(ErrorCode.IllegalTransition);
          expect(await s.getDeployment(d.id)).toEqual(d);
          if (d.state === 'committed') await s.transitionDeployment(alice, d.id, { from: 'committed', to: 'failed', reason: 'cleanup' });
          if (d.state === 'staged') await s.transitionDeployment(alice, d.id, { from: 'staged', to: 'failed', reason: 'cleanup' });
        }

        // A stale expected state is refused; so is a read-back that is not the deployed plan.
        const d = await s.stageDeployment(alice, { controllerId: 'CX', planId, wirePlanId: 9 });
        expect((await rejection(s.transitionDeployment(alice, d.id, { from: 'committed', to: 'confirmed', readBackPlanId: 9 }))).code).toBe(ErrorCode.IllegalTransition);
        await s.transitionDeployment(alice, d.id, { from: 'staged', to: 'committed' });
        expect((await rejection(s.transitionDeployment(alice, d.id, { from: 'committed', to: 'confirmed', readBackPlanId: 8 }))).code).toBe(ErrorCode.Conflict);
        expect((await rejection(s.transitionDeployment(alice, d.id, { from: 'committed', to: 'confirmed' }))).code).toBe(ErrorCode.Conflict);
        // One deployment in flight per controller; unfinished ones are listed for recovery.
        expect((await rejection(s.stageDeployment(alice, { controllerId: 'CX', planId, wirePlanId: 9 }))).code).toBe(ErrorCode.Conflict);
        expect((await s.listUnfinishedDeployments()).map((x) => [x.id, x.state])).toEqual([[d.id, 'committed']]);
        // A rollout is staged whole or not at all: CX is in flight, so CZ is not staged either.
        expect((await rejection(s.stageDeployments(alice, [{ controllerId: 'CZ', planId, wirePlanId: 9, rolloutId: 'R2' }, { controllerId: 'CX', planId, wirePlanId: 9, rolloutId: 'R2' }]))).code).toBe(ErrorCode.Conflict);
        expect(await s.listDeployments({ rolloutId: 'R2' })).toEqual([]);
        expect((await rejection(s.transitionDeployment(alice, 999_999, { from: 'staged', to: 'committed' }))).code).toBe(ErrorCode.NotFound);
        expect((await rejection(s.stageDeployment(alice, { controllerId: 'CY', planId: 999_999, wirePlanId: 1 }))).code).toBe(ErrorCode.NotFound);
        expect((await s.listDeployments({ rolloutId: 'R1' })).length).toBe(paths.length + illegal.length);
        expect((await s.listDeployments({ controllerId: 'CX' })).map((x) => x.id)).toEqual([d.id]);
        expect((await s.verifyAudit()).ok).toBe(true);
      });
    });

    it('deployments: of two concurrent transitions from one state, exactly one wins', async () => {
      await withStorage(harness(), async (s, _db, more) => {
        const other = await more();
        const planId = await planFor(s);
        for (let round = 0; round < 5; round++) {
          const d = await s.stageDeployment(alice, { controllerId: `C${round}`, planId, wirePlanId: 3 });
          await s.transitionDeployment(alice, d.id, { from: 'staged', to: 'committed' });
          const results = await Promise.allSettled([
            s.transitionDeployment(alice, d.id, { from: 'committed', to: 'confirmed', readBackPlanId: 3 }),
            other.transitionDeployment({ user: 'recovery' }, d.id, { from: 'committed', to: 'failed', reason: 'timeout' }),
          ]);
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          expect((lost[0]!.reason as GreenwaveError).code).toBe(ErrorCode.IllegalTransition);
          const final = (await s.getDeployment(d.id))!;
          expect(final.state).toBe((won[0] as PromiseFulfilledResult<{ state: DeploymentState }>).value.state);
          // Only the winner left an audit row.
          const rows = (await s.listAudit({ limit: 100_000 })).filter((r) => r.action === 'deployment.transition' && JSON.parse(r.detail).deploymentId === d.id);
          expect(rows.map((r) => JSON.parse(r.detail).to)).toEqual(['committed', final.state]);
        }
        expect((await other.verifyAudit()).ok).toBe(true);
      });
    });

    it('region fence: a write under an older lease token than the recorded one is refused and stores nothing; racing holders never both write after the newer one', async () => {
      await withStorage(harness(), async (s, _db, more) => {
        const other = (await more()) as SqlStorage;
        const a = (s as SqlStorage).fenced({ regionId: 'r1', token: 4, nodeId: 'a' });
        const plan = await a.recordRegionPlan({ user: 'node:a' }, { regionId: 'r1', revision: 2, body: { wire: 'x' }, reason: 'rev 2' });
        const b = other.fenced({ regionId: 'r1', token: 9, nodeId: 'b' });
        expect((await b.recordRegionPlan({ user: 'node:b' }, { regionId: 'r1', revision: 2, body: { wire: 'x' }, reason: 'rev 2' })).planId).toBe(plan.planId);
        const auditBefore = (await s.listAudit({ limit: 100_000 })).length;
        const e = await rejection(a.stageDeployment({ user: 'node:a' }, { controllerId: 'C1', planId: plan.planId, wirePlanId: 2 }));
        expect(e).toMatchObject({ code: ErrorCode.Fenced, token: 4, recordedToken: 9, recordedNode: 'b' });
        expect(await s.listDeployments()).toEqual([]);
        expect((await s.listAudit({ limit: 100_000 })).length).toBe(auditBefore);
        // Another region's fence is its own; the same token again is allowed (one holding writes many times).
        await a.fenced({ regionId: 'r2', token: 4, nodeId: 'a' }).recordAudit({ user: 'node:a' }, 'note', {});
        await b.recordAudit({ user: 'node:b' }, 'note', {});
        // Two holders racing: once the newer one's write is in, the older one's never lands after it.
        for (let round = 0; round < 5; round++) {
          const older = (s as SqlStorage).fenced({ regionId: `q${round}`, token: 10, nodeId: 'a' });
          const newer = other.fenced({ regionId: `q${round}`, token: 11, nodeId: 'b' });
          const [ra, rb] = await Promise.allSettled([older.recordAudit({ user: 'node:a' }, 'race', { round }), newer.recordAudit({ user: 'node:b' }, 'race', { round })]);
          expect(rb.status).toBe('fulfilled');
          const rows = (await s.listAudit({ actionPrefix: 'race', limit: 100_000 })).filter((r) => JSON.parse(r.detail).round === round);
          if (ra.status === 'fulfilled') expect(rows.map((r) => r.actor)).toEqual(['node:a', 'node:b']);
          else expect([(ra.reason as GreenwaveError).code, rows.map((r) => r.actor)]).toEqual([ErrorCode.Fenced, ['node:b']]);
        }
        expect(await s.regionFence('r1')).toMatchObject({ token: 9, nodeId: 'b' });
        expect((await s.verifyAudit()).ok).toBe(true);
      });
    });

    it('priority requests: open, update, decide, list open, close', async () => {
      await withStorage(harness(), async (s) => {
        const base = { vehicleId: 'bus-12', intersectionId: 'I1', priorityClass: 'bus', requestedAtMs: 1_000, etaMs: 31_000, client: 'dispatch-1' };
        const r1 = await s.openPriorityRequest(alice, { ...base, requestId: 'R1' });
        await s.openPriorityRequest(alice, { ...base, requestId: 'R2', requestedAtMs: 2_000 });
        expect(r1).toEqual({ ...base, requestId: 'R1', state: 'open', decision: null, decisionReason: null, decidedAtMs: null, closedAtMs: null, closeReason: null });
        expect((await s.openPriorityRequest(alice, { ...base, requestId: 'R1', etaMs: 35_000 })).etaMs).toBe(35_000);
        const decided = await s.decidePriorityRequest(alice, 'R1', { decision: 'granted', reason: 'green extension 8 s', decidedAtMs: 1_050 });
        expect(decided).toMatchObject({ decision: 'granted', decisionReason: 'green extension 8 s', decidedAtMs: 1_050, state: 'open' });
        expect((await s.listOpenPriorityRequests()).map((r) => r.requestId)).toEqual(['R1', 'R2']);
        const closed = await s.closePriorityRequest(alice, 'R1', { reason: 'checked out', closedAtMs: 40_000 });
        expect(closed).toMatchObject({ state: 'closed', closedAtMs: 40_000, closeReason: 'checked out', decision: 'granted' });
        expect((await s.listOpenPriorityRequests()).map((r) => r.requestId)).toEqual(['R2']);
        expect(await s.getPriorityRequest('R1')).toEqual(closed);
        expect((await rejection(s.closePriorityRequest(alice, 'R1', { reason: 'again', closedAtMs: 1 }))).code).toBe(ErrorCode.Conflict);
        expect((await rejection(s.openPriorityRequest(alice, { ...base, requestId: 'R1' }))).code).toBe(ErrorCode.Conflict);
        expect((await rejection(s.decidePriorityRequest(alice, 'nope', { decision: 'denied', reason: 'x', decidedAtMs: 1 }))).code).toBe(ErrorCode.NotFound);
      });
    });

    it('priority journal: many ops in one transaction and one audit row; ops that do not apply are skipped', async () => {
      await withStorage(harness(), async (s) => {
        const base = { vehicleId: 'bus-7', intersectionId: 'I2', priorityClass: 'bus', requestedAtMs: 5_000, etaMs: 40_000, client: 'dispatch-1' };
        const r = await s.journalPriority(alice, [
          { kind: 'open', request: { ...base, requestId: 'J1' } },
          { kind: 'decide', requestId: 'J1', decision: 'granted', reason: 'early green', decidedAtMs: 5_010 },
          { kind: 'open', request: { ...base, requestId: 'J1', etaMs: 42_000 } },
          { kind: 'open', request: { ...base, requestId: 'J2', vehicleId: 'bus-8' } },
          { kind: 'close', requestId: 'J2', reason: 'checked out', closedAtMs: 45_000 },
          { kind: 'close', requestId: 'J2', reason: 'again', closedAtMs: 46_000 },
          { kind: 'close', requestId: 'nope', reason: 'unknown', closedAtMs: 46_000 },
          { kind: 'open', request: { ...base, requestId: 'J2' } },
        ]);
        expect(r).toEqual({ applied: 5, skipped: 3 });
        expect(await s.getPriorityRequest('J1')).toMatchObject({ state: 'open', etaMs: 42_000, decision: 'granted', decisionReason: 'early green' });
        expect(await s.getPriorityRequest('J2')).toMatchObject({ state: 'closed', closeReason: 'checked out', closedAtMs: 45_000 });
        expect((await s.listOpenPriorityRequests()).map((x) => x.requestId)).toEqual(['J1']);
        const rows = (await s.listAudit()).filter((x) => x.action === 'priority.batch');
        expect(rows).toHaveLength(1);
        expect(JSON.parse(rows[0]!.detail).ops.map((o: { ok: boolean }) => o.ok)).toEqual([true, true, true, true, true, false, false, false]);
        expect(await s.journalPriority(alice, [])).toEqual({ applied: 0, skipped: 0 });
        expect((await s.verifyAudit()).ok).toBe(true);
      });
    });

    it('event log: batched insert (over one statement batch) and range queries', async () => {
      await withStorage(harness(), async (s) => {
        const t0 = Date.UTC(2024, 4, 1, 7);
        const events = Array.from({ length: 12_000 }, (_, k) => ({ locationId: k % 2 === 0 ? '6001' : '6002', timestampMs: t0 + k * 100, eventCode: [1, 8, 10, 82, 81][k % 5]!, eventParam: (k % 8) + 1 }));
        expect(await s.insertEvents(alice, events)).toBe(12_000);
        const all = await s.events({ fromMs: t0, toMs: t0 + 1_200_000 });
        expect(all).toHaveLength(12_000);
        expect(all[0]).toEqual(events[0]);
        expect(all[11_999]).toEqual(events[11_999]);
        const window = await s.events({ fromMs: t0 + 1_000, toMs: t0 + 2_000, locationId: '6002' });
        expect(window).toEqual(events.filter((e) => e.timestampMs >= t0 + 1_000 && e.timestampMs < t0 + 2_000 && e.locationId === '6002'));
        const greens = await s.events({ fromMs: t0, toMs: t0 + 10_000, eventCodes: [1] });
        expect(greens.every((e) => e.eventCode === 1)).toBe(true);
        expect(greens).toHaveLength(20);
        expect(await s.events({ fromMs: t0, toMs: t0 + 10_000, limit: 3 })).toEqual(events.slice(0, 3));
        // One audit row for the whole batch.
        expect((await s.listAudit()).filter((r) => r.action === 'events.insert')).toHaveLength(1);
        expect((await rejection(s.insertEvents(alice, [{ locationId: '1', timestampMs: 1.5, eventCode: 1, eventParam: 1 }]))).code).toBe(ErrorCode.InvalidInput);
      });
    });

    it('event cursors: committed with the events they cover, one per controller; gaps audited in the same write', async () => {
      await withStorage(harness(), async (s, db) => {
        const ev = (loc: string, k: number) => ({ locationId: loc, timestampMs: 1_700_000_000_000 + k * 100, eventCode: 82, eventParam: 1 });
        expect(await s.eventCursors()).toEqual([]);
        const collector: Actor = { user: 'greenwave', peer: 'event-collector' };
        expect(await s.insertEvents(collector, [ev('A', 0), ev('A', 1), ev('B', 0)], { cursors: [{ controllerId: 'A', logId: 7, nextSeq: 1 }, { controllerId: 'B', logId: 9, nextSeq: 1 }, { controllerId: 'A', logId: 7, nextSeq: 2 }] })).toBe(3);
        expect((await s.eventCursors()).map(({ updatedAtMs: _, ...c }) => c)).toEqual([
          { controllerId: 'A', logId: 7, nextSeq: 2 },
          { controllerId: 'B', logId: 9, nextSeq: 1 },
        ]);
        // Progress without events: a gap moved B's cursor; the gap is on record in that write.
        expect(await s.insertEvents(collector, [], { cursors: [{ controllerId: 'B', logId: 9, nextSeq: 40 }], gaps: [{ locationId: 'B', fromSeq: 1, toSeq: 40 }] })).toBe(0);
        expect((await s.eventCursors()).find((c) => c.controllerId === 'B')?.nextSeq).toBe(40);
        const gap = (await s.listAudit({ actionPrefix: 'events.gap' })).map((r) => JSON.parse(r.detail));
        expect(gap).toEqual([{ lost: 39, gaps: [{ locationId: 'B', fromSeq: 1, toSeq: 40 }], listed: 1, total: 1 }]);
        // The controller restarted (a new log): the restart is on record with the cursor's move.
        await s.insertEvents(collector, [], { cursors: [{ controllerId: 'A', logId: 8, nextSeq: 0 }], restarts: [{ controllerId: 'A', previousLogId: 7, previousNextSeq: 2, logId: 8, oldestSeq: 0 }] });
        expect((await s.listAudit({ actionPrefix: 'events.restart' })).map((r) => JSON.parse(r.detail))).toEqual([{ restarts: [{ controllerId: 'A', previousLogId: 7, previousNextSeq: 2, logId: 8, oldestSeq: 0 }], total: 1 }]);
        // A write of a cursor alone is audited too.
        await s.insertEvents(collector, [], { cursors: [{ controllerId: 'B', logId: 9, nextSeq: 41 }] });
        expect((await s.listAudit({ actionPrefix: 'events.cursor' })).map((r) => JSON.parse(r.detail))).toEqual([{ cursors: [{ controllerId: 'B', logId: 9, nextSeq: 41 }], total: 1 }]);
        expect(await s.insertEvents(collector, [])).toBe(0);
        for (const bad of [{ controllerId: '', logId: 1, nextSeq: 0 }, { controllerId: 'A', logId: 0, nextSeq: 0 }, { controllerId: 'A', logId: 1, nextSeq: -1 }, { controllerId: 'A', logId: 1, nextSeq: 0.5 }]) {
          expect((await rejection(s.insertEvents(collector, [ev('A', 9)], { cursors: [bad] }))).code).toBe(ErrorCode.InvalidInput);
        }
        expect((await rejection(s.insertEvents(collector, [], { gaps: [{ locationId: 'A', fromSeq: 5, toSeq: 5 }] }))).code).toBe(ErrorCode.InvalidInput);
        expect(await s.events({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).toHaveLength(3);
        // One transaction: when the cursor cannot be written, the events are not stored either.
        await db.exec('DROP TABLE event_cursors');
        await rejection(s.insertEvents(collector, [ev('A', 10)], { cursors: [{ controllerId: 'A', logId: 8, nextSeq: 1 }] }));
        expect(await s.events({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).toHaveLength(3);
        expect((await s.verifyAudit()).ok).toBe(true);
      });
    });

    it('audit: every write appends one row with who, what, when and from where, in one chain', async () => {
      await withStorage(harness(), async (s) => {
        const before = (await s.listAudit()).length;
        const planId = await planFor(s);
        await s.stageDeployment(alice, { controllerId: 'C1', planId, wirePlanId: 1 });
        await s.recordAudit({ user: 'mallory?', peer: 'ipv6:[::1]:4000' }, 'auth.refused', { reason: 'unknown token', method: '/greenwave.v1.TimingService/Replan' });
        const rows = await s.listAudit();
        expect(rows.slice(before).map((r) => r.action)).toEqual(['plan.save', 'deployment.stage', 'auth.refused']);
        const refused = rows.at(-1)!;
        expect(refused).toMatchObject({ actor: 'mallory?', peer: 'ipv6:[::1]:4000', seq: rows.length });
        expect(refused.detail).toBe('{"method":"/greenwave.v1.TimingService/Replan","reason":"unknown token"}');
        expect(rows[1]!.actor).toBe('optimizer');
        expect(rows[1]!.peer).toBeNull();
        expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
        for (let k = 1; k < rows.length; k++) expect(rows[k]!.prevHash).toBe(rows[k - 1]!.hash);
        expect(await s.verifyAudit()).toEqual({ ok: true, rowsChecked: rows.length, headHash: refused.hash });
        // A write that fails leaves no audit row.
        await rejection(s.stageDeployment(alice, { controllerId: 'C1', planId, wirePlanId: 1 }));
        expect(await s.listAudit()).toHaveLength(rows.length);
      });
    });

    it('plan decisions: one per person, none after a rejection, each audited', async () => {
      await withStorage(harness(), async (s) => {
        const a = await planFor(s);
        const b = await planFor(s, 'I2');
        const first = await s.decidePlan(alice, a, { decision: 'approve', comment: 'looks right', roles: ['supervisor'] });
        expect(first).toMatchObject({ planId: a, actor: 'alice', decision: 'approve', roles: ['supervisor'], comment: 'looks right' });
        expect((await rejection(s.decidePlan(alice, a, { decision: 'approve', comment: '', roles: ['supervisor'] }))).code).toBe(ErrorCode.Conflict);
        await s.decidePlan({ user: 'bob' }, a, { decision: 'approve', comment: '', roles: ['supervisor'] });
        expect((await s.planDecisions(a)).map((d) => d.actor)).toEqual(['alice', 'bob']);
        await s.decidePlan({ user: 'bob' }, b, { decision: 'reject', comment: 'offsets wrong', roles: ['supervisor'] });
        const refused = await rejection(s.decidePlan(alice, b, { decision: 'approve', comment: '', roles: ['supervisor'] }));
        expect(refused.code).toBe(ErrorCode.Conflict);
        expect(refused.message).toMatch(/rejected by bob/);
        expect((await rejection(s.decidePlan(alice, 9999, { decision: 'approve', comment: '', roles: [] }))).code).toBe(ErrorCode.NotFound);
        const rows = await s.listAudit({ actionPrefix: 'plan.' });
        expect(rows.map((r) => r.action)).toEqual(['plan.save', 'plan.save', 'plan.approve', 'plan.approve', 'plan.reject']);
        expect((await s.listAudit({ actor: 'bob' })).map((r) => r.action)).toEqual(['plan.approve', 'plan.reject']);
        expect((await s.verifyAudit()).ok).toBe(true);
      });
    });

    it('locks: one in force per scope and kind; released once; listed', async () => {
      await withStorage(harness(), async (s) => {
        const l = await s.setLock(alice, { scope: { kind: 'corridor', id: 'renmin-rd' }, what: 'cycle', value: { cycleS: 120 }, reason: 'school peak' });
        expect(l).toMatchObject({ scope: { kind: 'corridor', id: 'renmin-rd' }, what: 'cycle', value: { cycleS: 120 }, author: 'alice', releasedAtMs: null });
        expect((await rejection(s.setLock(alice, { scope: { kind: 'corridor', id: 'renmin-rd' }, what: 'cycle', value: { cycleS: 90 }, reason: 'again' }))).code).toBe(ErrorCode.Conflict);
        // Another kind on the same scope is a different lock.
        await s.setLock(alice, { scope: { kind: 'corridor', id: 'renmin-rd' }, what: 'plan', value: { planId: 1 }, reason: 'pin' });
        expect((await rejection(s.setLock(alice, { scope: { kind: 'corridor', id: '' }, what: 'cycle', value: {}, reason: 'x' }))).code).toBe(ErrorCode.InvalidInput);
        const released = await s.releaseLock({ user: 'bob' }, l.id, 'peak over');
        expect(released).toMatchObject({ id: l.id, releasedBy: 'bob' });
        expect(released.releasedAtMs).not.toBeNull();
        expect((await rejection(s.releaseLock(alice, l.id, 'twice'))).code).toBe(ErrorCode.Conflict);
        expect((await rejection(s.releaseLock(alice, 999, 'none'))).code).toBe(ErrorCode.NotFound);
        expect((await s.listLocks({ active: true })).map((x) => x.what)).toEqual(['plan']);
        expect(await s.listLocks()).toHaveLength(2);
        // Released, the scope can be locked again.
        await s.setLock(alice, { scope: { kind: 'corridor', id: 'renmin-rd' }, what: 'cycle', value: { cycleS: 100 }, reason: 'evening' });
        expect((await s.listAudit({ actionPrefix: 'lock.' })).map((r) => r.action)).toEqual(['lock.set', 'lock.set', 'lock.release', 'lock.set']);
      });
    });

    it('audit search: by actor, action prefix (no wildcards) and time', async () => {
      await withStorage(harness(), async (s) => {
        await s.recordAudit(alice, 'auth.refused', { n: 1 });
        await s.recordAudit({ user: 'bob' }, 'auth_x', { n: 2 });
        await s.recordAudit(alice, 'test.write', { n: 3 });
        expect((await s.listAudit({ actionPrefix: 'auth.' })).map((r) => r.action)).toEqual(['auth.refused']);
        // '_' is not a wildcard here.
        expect((await s.listAudit({ actionPrefix: 'auth_' })).map((r) => r.action)).toEqual(['auth_x']);
        expect((await s.listAudit({ actor: 'alice', actionPrefix: 'test' })).map((r) => r.detail)).toEqual(['{"n":3}']);
        const all = await s.listAudit();
        const last = all[all.length - 1]!;
        expect((await s.listAudit({ fromMs: last.atMs })).every((r) => r.atMs >= last.atMs)).toBe(true);
        expect(await s.listAudit({ toMs: all[0]!.atMs })).toEqual([]);
      });
    });

    it('audit: the hash is the documented one (same bytes in every database)', () => {
      // The vector in docs/storage.md.
      const detail = canonicalJson({ reason: 'unknown token', method: 'Replan', n: [1, 2.5, null, true] });
      expect(detail).toBe('{"method":"Replan","n":[1,2.5,null,true],"reason":"unknown token"}');
      const h = auditHash(GENESIS_HASH, { seq: 1, atMs: 1_700_000_000_000, actor: 'alice', peer: 'ipv4:10.0.0.7:51234', action: 'auth.refused', detail });
      expect(h).toBe(DOC_VECTOR_HASH);
    });

    it('audit: tampering in SQL is refused by the triggers, and found by verifyAudit at the right row', async () => {
      const h = harness();
      await withStorage(h, async (s, db) => {
        for (let k = 0; k < 6; k++) await s.recordAudit(alice, 'test.write', { k });
        const rows = await s.listAudit();
        expect((await s.verifyAudit()).ok).toBe(true);
        await expect(db.exec(`UPDATE audit_log SET actor = 'eve' WHERE seq = 3`)).rejects.toThrow(/append-only/);
        await expect(db.exec('DELETE FROM audit_log WHERE seq = 3')).rejects.toThrow(/append-only/);
        for (const sql of h.dropAuditGuards) await db.exec(sql);

        // Changing a row's content: that row's hash no longer matches.
        await db.exec(`UPDATE audit_log SET detail = '{"k":99}' WHERE seq = 4`);
        expect(await s.verifyAudit()).toMatchObject({ ok: false, badSeq: 4, rowsChecked: 3, problem: 'hash mismatch' });
        // Rehashing the altered row to hide it breaks the link from the next one.
        const fixed = auditHash(rows[2]!.hash, { ...rows[3]!, detail: '{"k":99}' });
        await db.exec(`UPDATE audit_log SET hash = '${fixed}' WHERE seq = 4`);
        expect(await s.verifyAudit()).toMatchObject({ ok: false, badSeq: 5, problem: 'previous hash mismatch' });
        // Deleting a row leaves a gap.
        await db.exec(`UPDATE audit_log SET hash = '${rows[3]!.hash}', detail = '${rows[3]!.detail}' WHERE seq = 4`);
        expect((await s.verifyAudit()).ok).toBe(true);
        await db.exec('DELETE FROM audit_log WHERE seq = 2');
        expect(await s.verifyAudit()).toMatchObject({ ok: false, badSeq: 3, rowsChecked: 1, problem: 'sequence gap' });
      });
    });
  });
}

/** SHA-256 of the audit hash vector documented in docs/storage.md. */
export const DOC_VECTOR_HASH = '14e12daf30ecdc066cc31583ec4045cfa5f6a65b6916c1afedc9dcc8ca2686fd';
