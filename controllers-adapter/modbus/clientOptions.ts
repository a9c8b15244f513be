/**
 * The ControllerClient's options, their defaults and their checks, in one
 * place because two parts read them: the connection (timeouts, requests in
 * flight: ./connection.ts) and the retry policy with its circuit breaker
 * (./retry.ts). Called by ControllerClient's constructor (./client.ts).
 */
import { OptionError } from '../../engine/errors.js';

export interface ControllerClientOptions {
  /** Per request, ms (default 1000). */
  readonly timeoutMs?: number;
  /** Per TCP connect, ms (default 1000). */
  readonly connectTimeoutMs?: number;
  /** Extra attempts after a transient failure (default 2). */
  readonly retries?: number;
  /** First backoff, ms, doubled per retry up to backoffMaxMs (defaults 50 / 1000). */
  readonly backoffMs?: number;
  readonly backoffMaxMs?: number;
  /** Consecutive failures that open a controller's breaker (default 5). */
  readonly breakerFailures?: number;
  /** How long an open breaker fails fast, ms (default 5000). */
  readonly breakerCooldownMs?: number;
  /** Requests outstanding at once on one TCP connection (default 16, at most 200). */
  readonly maxInFlightPerConnection?: number;
}

/** Every option present (defaults filled in). */
export type FilledClientOptions = Required<ControllerClientOptions>;
export const kDefaultClientOptions: FilledClientOptions = {
  timeoutMs: 1000,
  connectTimeoutMs: 1000,
  retries: 2,
  backoffMs: 50,
  backoffMaxMs: 1000,
  breakerFailures: 5,
  breakerCooldownMs: 5000,
  maxInFlightPerConnection: 16,
};

export function fillOptions(o: ControllerClientOptions): FilledClientOptions {
  const f = { ...kDefaultClientOptions, ...o };
  const check = (name: keyof FilledClientOptions, lo: number, hi: number): void => {
    const v = f[name];
    if (!(Number.isInteger(v) && v >= lo && v <= hi)) throw new OptionError(`options.${name}`, `${v} must be an integer within [${lo}, ${hi}]`);
  };
  check('timeoutMs', 1, 600_000);
  check('connectTimeoutMs', 1, 600_000);
  check('retries', 0, 100);
  check('backoffMs', 0, 600_000);
  check('backoffMaxMs', 0, 600_000);
  check('breakerFailures', 1, 1_000_000);
  check('breakerCooldownMs', 0, 3_600_000);
  // Transaction ids wrap at 256 in modbus-serial: keep well below.
  check('maxInFlightPerConnection', 1, 200);
  return f;
}
