/**
 * The two baselines the free-space predictor (./predict.ts) must beat, as the
 * issue defines them, over a regular series of free spaces (one value per
 * step). Called by the evaluation (./predictEvaluate.ts) and the benchmark.
 *  - naive persistence: the free spaces now, at every horizon;
 *  - the "relativized average of previous weeks": the change in free spaces
 *    over the horizon at the same time of day one, two and three weeks ago,
 *    averaged, added to the value now, clamped to 0…capacity. Weeks whose
 *    values are missing are left out; with none, persistence.
 */

/** Free spaces at step t + h by persistence. */
export function persistenceForecast(free: ArrayLike<number>, t: number): number {
  return free[t]!;
}

/** Free spaces at step t + h from the changes one, two and three weeks before (stepsPerWeek steps apart). */
export function relativizedAverageForecast(free: ArrayLike<number>, t: number, h: number, stepsPerWeek: number, capacity: number, weeks = 3): number {
  const now = free[t]!;
  let sum = 0;
  let n = 0;
  for (let k = 1; k <= weeks; k++) {
    const then = t - k * stepsPerWeek;
    if (then < 0) break;
    const change = free[then + h]! - free[then]!;
    if (Number.isNaN(change)) continue;
    sum += change;
    n++;
  }
  const f = n > 0 ? now + sum / n : now;
  return Math.min(capacity, Math.max(0, f));
}
