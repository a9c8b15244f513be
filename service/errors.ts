/**
 * The one place where failures become gRPC statuses. Engine errors keep their
 * stable codes (engine/errors.ts); the service adds the few outcomes that only
 * exist at the edge (not found, authentication, overload) as StatusError.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';

export class StatusError extends Error {
  constructor(
    readonly grpcCode: status,
    message: string,
    /** Sent as the status's trailing metadata (a cluster node's retry hint, cluster/front.ts). */
    readonly trailers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

export const notFound = (what: string): StatusError => new StatusError(status.NOT_FOUND, what);

/** Maps anything thrown by a handler to a gRPC status. Internal details never leak: INTERNAL says only that. */
export function toGrpcStatus(e: unknown): Partial<ServiceError> & { code: status; details: string } {
  let code: status;
  let details: string;
  if (e instanceof StatusError) {
    code = e.grpcCode;
    details = e.message;
  } else if (e instanceof GreenwaveError) {
    details = e.issues.length > 0 ? e.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ') : e.message;
    switch (e.code) {
      case ErrorCode.InvalidInput:
        code = status.INVALID_ARGUMENT;
        break;
      case ErrorCode.UnsafePlan:
      case ErrorCode.Conflict:
      case ErrorCode.IllegalTransition:
        code = status.FAILED_PRECONDITION;
        break;
      case ErrorCode.NotFound:
        code = status.NOT_FOUND;
        break;
      case ErrorCode.Cancelled:
        code = status.CANCELLED;
        break;
      case ErrorCode.Io:
      case ErrorCode.Fenced:
        code = status.UNAVAILABLE;
        break;
      default:
        code = status.INTERNAL;
        details = 'internal error';
    }
  } else {
    code = status.INTERNAL;
    details = 'internal error';
  }
  const metadata = new Metadata();
  if (e instanceof StatusError) for (const [k, v] of Object.entries(e.trailers ?? {})) metadata.set(k, v);
  return { code, details, metadata };
}
