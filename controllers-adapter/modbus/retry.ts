/**
 * The retry policy of the controller link and its per-controller circuit
 * breaker: transient failures are retried with exponential backoff, and after
 * `breakerFailures` consecutive failures a controller fails fast for the
 * cooldown, then lets one trial request through. Also the per-unit lock that
 * keeps one controller's operations in order. Used by ControllerClient
 * (./client.ts) around every request; the link itself is ./connection.ts.
 */
import { ControllerError, ControllerErrorReason } from '../errors.js';
import type { FilledClientOptions } from './clientOptions.js';

/** What the retry loop needs of the client options. */
export type RetryPolicy = Pick<FilledClientOptions, 'retries' | 'backoffMs' | 'backoffMaxMs' | 'breakerFailures' | 'breakerCooldownMs'>;

/** One controller's breaker: consecutive failures and, while open, the time it closes again (Date.now() ms). */
export interface BreakerState {
  failures: number;
  openUntilMs: number;
}

/** A per-unit lock: the tail of the operations queued on one controller. */
export interface UnitLock {
  lock: Promise<unknown>;
}

/** Runs `fn` after every operation already queued on `u` (whether those succeed or fail). */
export function serialized<T>(u: UnitLock, fn: () => Promise<T>): Promise<T> {
  const run = u.lock.then(fn, fn);
  u.lock = run.catch(() => undefined);
  return run;
}

/**
 * `fn` with retries for unit `unitId`: fails fast while the breaker is open, counts transient
 * failures (and gateway exceptions 0x0A/0x0B, which say the path is down) towards opening it,
 * and never retries a refusal (an exception, a rejected plan) or an unsafe plan.
 */
export async function withRetry<T>(unitId: number, breaker: BreakerState, policy: RetryPolicy, isClosed: () => boolean, fn: () => Promise<T>): Promise<T> {
  for (let k = 0; ; k++) {
    if (isClosed()) throw new ControllerError(ControllerErrorReason.Closed, 'client is closed', { unitId });
    const now = Date.now();
    if (now < breaker.openUntilMs) throw new ControllerError(ControllerErrorReason.CircuitOpen, `unit ${unitId}: circuit open after ${breaker.failures} consecutive failures; retry in ${breaker.openUntilMs - now} ms`, { unitId });
    try {
      const result = await fn();
      breaker.failures = 0;
      breaker.openUntilMs = 0;
      return result;
    } catch (e: unknown) {
      const err = e instanceof ControllerError ? e : e instanceof Error && e.name === 'UnsafePlanError' ? null : new ControllerError(ControllerErrorReason.ConnectionLost, `unit ${unitId}: ${String(e)}`, { unitId, cause: e });
      if (err === null) throw e;
      const gateway = err.reason === ControllerErrorReason.Exception && (err.exceptionCode === 0x0a || err.exceptionCode === 0x0b);
      if (err.transient || gateway) {
        breaker.failures++;
        if (breaker.failures >= policy.breakerFailures) breaker.openUntilMs = Date.now() + policy.breakerCooldownMs;
      }
      if (!err.transient || k >= policy.retries || Date.now() < breaker.openUntilMs) throw err;
      await sleep(Math.min(policy.backoffMaxMs, policy.backoffMs * 2 ** k));
    }
  }
}

/** Breaker state for health reports. */
export function breakerStatus(breaker: BreakerState): { failures: number; open: boolean } {
  return { failures: breaker.failures, open: Date.now() < breaker.openUntilMs };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
