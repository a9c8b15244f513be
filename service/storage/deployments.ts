/**
 * The deployment state machine, enforced inside the storage so that no caller
 * (the deployer, crash recovery, an operator's command) can skip a step:
 *
 *   staged ──→ committed ──→ confirmed   (the controller read back the wire plan id)
 *     │            │
 *     ├──→ failed ←┤
 *     └→ rolled_back ←┘
 *
 * confirmed, failed and rolled_back are final. Undoing a confirmed plan is a
 * new deployment of the older plan, so the history never rewrites itself.
 * Each change is one conditional UPDATE (… WHERE id = ? AND state = expected):
 * of two racing writers exactly one changes the row, the other is refused.
 * Called by SqlStorage (./sqlStorage.ts).
 */
import { appendAudit } from './audit.js';
import type { Row, Tx } from './driver.js';
import { ConflictError, IllegalTransitionError, NotFoundError } from './errors.js';
import type { Actor, Deployment, DeploymentState, DeploymentTransition } from './storage.js';

export const DEPLOYMENT_STATES: readonly DeploymentState[] = ['staged', 'committed', 'confirmed', 'failed', 'rolled_back'];

/** Legal next states of each state. */
export const NEXT_STATES: Readonly<Record<DeploymentState, readonly DeploymentState[]>> = {
  staged: ['committed', 'failed', 'rolled_back'],
  committed: ['confirmed', 'failed', 'rolled_back'],
  confirmed: [],
  failed: [],
  rolled_back: [],
};

/** States with work still in flight: what crash recovery looks for. */
export const UNFINISHED_STATES: readonly DeploymentState[] = ['staged', 'committed'];

export const isLegalTransition = (from: DeploymentState, to: DeploymentState): boolean => NEXT_STATES[from].includes(to);

export function deploymentRow(r: Row): Deployment {
  return {
    id: Number(r['id']),
    controllerId: String(r['controller_id']),
    planId: Number(r['plan_id']),
    wirePlanId: Number(r['wire_plan_id']),
    rolloutId: r['rollout_id'] === null ? null : String(r['rollout_id']),
    state: String(r['state']) as DeploymentState,
    createdAtMs: Number(r['created_at_ms']),
    updatedAtMs: Number(r['updated_at_ms']),
    readBackPlanId: r['read_back_plan_id'] === null ? null : Number(r['read_back_plan_id']),
    reason: r['reason'] === null ? null : String(r['reason']),
  };
}

async function current(tx: Tx, id: number): Promise<Deployment> {
  const row = (await tx.query('SELECT * FROM deployments WHERE id = $1', [id]))[0];
  if (!row) throw new NotFoundError(`deployment ${id}`);
  return deploymentRow(row);
}

/** One transition, atomically, with its audit row in the same transaction. */
export async function transition(tx: Tx, actor: Actor, id: number, t: DeploymentTransition, nowMs: number): Promise<Deployment> {
  // Unknown state names (from an untyped caller) are illegal too; the refusal names the actual state.
  const legal = DEPLOYMENT_STATES.includes(t.from) && DEPLOYMENT_STATES.includes(t.to) && isLegalTransition(t.from, t.to);
  if (!legal) throw new IllegalTransitionError(id, t.from, t.to, (await current(tx, id)).state);
  if (t.to === 'confirmed' && !(Number.isInteger(t.readBackPlanId) && (t.readBackPlanId ?? 0) > 0)) throw new ConflictError(`deployment ${id}: confirming needs the plan id read back from the controller`);
  const changed = await tx.run(
    // The read-back check is part of the condition: a controller showing another plan never counts as confirmed.
    `UPDATE deployments SET state = $1, updated_at_ms = $2, read_back_plan_id = $3, reason = $4
       WHERE id = $5 AND state = $6${t.to === 'confirmed' ? ' AND wire_plan_id = $3' : ''}`,
    [t.to, nowMs, t.to === 'confirmed' ? t.readBackPlanId : null, t.reason ?? null, id, t.from],
  );
  if (changed !== 1) {
    const now = await current(tx, id);
    if (now.state === t.from && t.to === 'confirmed') throw new ConflictError(`deployment ${id}: the controller reported plan ${t.readBackPlanId}, not the deployed wire plan ${now.wirePlanId}`);
    throw new IllegalTransitionError(id, t.from, t.to, now.state);
  }
  const after = await current(tx, id);
  await appendAudit(tx, actor, 'deployment.transition', { deploymentId: id, controllerId: after.controllerId, planId: after.planId, from: t.from, to: t.to, readBackPlanId: after.readBackPlanId, reason: after.reason }, nowMs);
  return after;
}
