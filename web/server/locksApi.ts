/**
 * The console's read-only view of what constrains the plans, registered in the
 * route table of ./api.ts: GET /api/locks, the plan and cycle locks in force
 * (service/lifecycle/lifecycle.ts listLocks) and the time-of-day schedule in
 * force with the period due now (service/lifecycle/schedule.ts
 * ScheduleKeeper.current). Setting and releasing locks, and deploying
 * schedules, stay with OperationsService (greenwave ops). Every role may read.
 */
import type { ConsoleDeps, Route } from './api.js';

const READERS = ['viewer', 'operator', 'supervisor'] as const;

export function locksRoutes(deps: ConsoleDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/api\/locks$/,
      roles: READERS,
      handle: async () => {
        if (!deps.lifecycle) return { configured: false, locks: [], schedule: null };
        const locks = await deps.lifecycle.listLocks(true);
        const current = deps.schedules?.current();
        return {
          configured: true,
          locks: locks.map((l) => ({ id: l.id, scope: l.scope, what: l.what, value: l.value, reason: l.reason, author: l.author, createdAtMs: l.createdAtMs })),
          schedule: current
            ? { planId: current.plan.planId, version: current.plan.version, author: current.plan.author, entries: current.entries, due: current.due ?? null }
            : null,
        };
      },
    },
  ];
}
