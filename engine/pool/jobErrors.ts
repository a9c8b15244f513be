/**
 * The errors a pool job settles with (WorkerPool in ./pool.ts is the only caller): a
 * cancellation, and a handler's error rebuilt on the main thread from what the worker
 * sent (./protocol.ts), keeping its code when it is one of the engine's.
 */
import { GreenwaveError, ErrorCode } from '../errors.js';
import type { SerializedError } from './protocol.js';

/** What a job aborted by its AbortSignal rejects with. */
export function cancelledError(signal: AbortSignal): GreenwaveError {
  return new GreenwaveError(ErrorCode.Cancelled, 'job cancelled', [], { cause: signal.reason });
}

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Rebuilds a handler's error on this side; its code survives if it is one of ours. */
export function remoteError(e: SerializedError): GreenwaveError {
  const cause = Object.assign(new Error(e.message), { name: e.name, code: e.code, stack: e.stack });
  const code = e.code !== undefined && knownCodes.has(e.code) ? (e.code as ErrorCode) : ErrorCode.Internal;
  const prefix = code === ErrorCode.Internal && e.code !== undefined ? `${e.code}: ` : '';
  return new GreenwaveError(code, `${prefix}${e.message}`, [], { cause });
}
