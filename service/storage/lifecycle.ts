/**
 * The plan lifecycle's records in the storage: reviewers' decisions on stored
 * plans and the locks the optimizer must respect. The rules that belong to the
 * data live here, inside the write transaction, so that no caller can break
 * them: one decision per person per plan, no decision after a rejection, one
 * lock in force per scope and kind. Who may decide (roles, the two-person
 * rule) is the service's policy (service/lifecycle/). Called by SqlStorage
 * (./sqlStorage.ts).
 */
import { appendAudit } from './audit.js';
import { canonicalJson } from './auditHash.js';
import type { Row, Tx } from './driver.js';
import { ConflictError, NotFoundError } from './errors.js';
import type { Actor, Lock, NewLock, PlanDecision, PlanDecisionKind } from './storage.js';
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';

const invalid = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, message);

export function decisionRow(r: Row): PlanDecision {
  return {
    id: Number(r['id']),
    planId: Number(r['plan_id']),
    actor: String(r['actor']),
    roles: JSON.parse(String(r['roles'])) as string[],
    decision: String(r['decision']) as PlanDecisionKind,
    comment: String(r['comment']),
    atMs: Number(r['at_ms']),
  };
}

export function lockRow(r: Row): Lock {
  return {
    id: Number(r['id']),
    scope: { kind: String(r['scope_kind']) as Lock['scope']['kind'], id: String(r['scope_id']) },
    what: String(r['what']) as Lock['what'],
    value: JSON.parse(String(r['value'])) as unknown,
    reason: String(r['reason']),
    author: String(r['author']),
    createdAtMs: Number(r['created_at_ms']),
    releasedAtMs: r['released_at_ms'] === null || r['released_at_ms'] === undefined ? null : Number(r['released_at_ms']),
    releasedBy: r['released_by'] === null || r['released_by'] === undefined ? null : String(r['released_by']),
  };
}

export async function decidePlan(tx: Tx, actor: Actor, planId: number, d: { decision: PlanDecisionKind; comment: string; roles: readonly string[] }, nowMs: number): Promise<PlanDecision> {
  if (d.decision !== 'approve' && d.decision !== 'reject') throw invalid(`decidePlan: decision "${String(d.decision)}" must be approve or reject`);
  if (typeof d.comment !== 'string') throw invalid('decidePlan: a comment (possibly empty) is required');
  // Under the write lock: two reviewers deciding at once see each other's decision.
  await tx.lockWrites();
  if ((await tx.query('SELECT plan_id FROM timing_plans WHERE plan_id = $1', [planId])).length === 0) throw new NotFoundError(`timing plan ${planId}`);
  const earlier = (await tx.query('SELECT * FROM plan_decisions WHERE plan_id = $1 ORDER BY id', [planId])).map(decisionRow);
  const rejected = earlier.find((x) => x.decision === 'reject');
  if (rejected) throw new ConflictError(`plan ${planId} was rejected by ${rejected.actor}: propose a new plan instead`);
  if (earlier.some((x) => x.actor === actor.user)) throw new ConflictError(`plan ${planId}: ${actor.user} has already decided on it`);
  const row = (
    await tx.query('INSERT INTO plan_decisions (plan_id, actor, roles, decision, comment, at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *', [planId, actor.user, JSON.stringify([...d.roles]), d.decision, d.comment, nowMs])
  )[0]!;
  const out = decisionRow(row);
  await appendAudit(tx, actor, `plan.${d.decision}`, { planId, decisionId: out.id, roles: out.roles, comment: d.comment }, nowMs);
  return out;
}

export async function setLock(tx: Tx, actor: Actor, l: NewLock, nowMs: number): Promise<Lock> {
  if (!(l.scope && (l.scope.kind === 'intersection' || l.scope.kind === 'corridor') && typeof l.scope.id === 'string' && l.scope.id !== '')) throw invalid('setLock: scope must be { kind: intersection | corridor, id }');
  if (l.what !== 'plan' && l.what !== 'cycle') throw invalid(`setLock: what "${String(l.what)}" must be plan or cycle`);
  if (typeof l.reason !== 'string' || l.reason.trim() === '') throw invalid('setLock: a reason is required');
  await tx.lockWrites();
  const held = (await tx.query('SELECT * FROM locks WHERE scope_kind = $1 AND scope_id = $2 AND what = $3 AND released_at_ms IS NULL', [l.scope.kind, l.scope.id, l.what]))[0];
  if (held) throw new ConflictError(`${l.scope.kind} ${l.scope.id} already has a ${l.what} lock in force (lock ${String(held['id'])} by ${String(held['author'])}): release it first`);
  const row = (
    await tx.query('INSERT INTO locks (scope_kind, scope_id, what, value, author, reason, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *', [
      l.scope.kind,
      l.scope.id,
      l.what,
      canonicalJson(l.value ?? null),
      actor.user,
      l.reason,
      nowMs,
    ])
  )[0]!;
  const out = lockRow(row);
  await appendAudit(tx, actor, 'lock.set', { lockId: out.id, scope: out.scope, what: out.what, value: out.value, reason: out.reason }, nowMs);
  return out;
}

export async function releaseLock(tx: Tx, actor: Actor, id: number, reason: string, nowMs: number): Promise<Lock> {
  if (typeof reason !== 'string' || reason.trim() === '') throw invalid('releaseLock: a reason is required');
  const changed = await tx.run('UPDATE locks SET released_at_ms = $1, released_by = $2 WHERE id = $3 AND released_at_ms IS NULL', [nowMs, actor.user, id]);
  const row = (await tx.query('SELECT * FROM locks WHERE id = $1', [id]))[0];
  if (!row) throw new NotFoundError(`lock ${id}`);
  const out = lockRow(row);
  if (changed !== 1) throw new ConflictError(`lock ${id} was already released by ${out.releasedBy ?? '?'}`);
  await appendAudit(tx, actor, 'lock.release', { lockId: id, scope: out.scope, what: out.what, reason }, nowMs);
  return out;
}
