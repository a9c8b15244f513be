/**
 * The storage's typed errors. Each is a GreenwaveError (engine/errors.ts) with a
 * stable code, so the CLI and the gRPC edge map them without parsing messages.
 * Thrown by SqlStorage (./sqlStorage.ts), the migrations and the drivers.
 */
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import type { DeploymentState } from './storage.js';

export class NotFoundError extends GreenwaveError {
  constructor(what: string) {
    super(ErrorCode.NotFound, `${what} not found`);
    this.name = 'NotFoundError';
  }
}

/** A deployment state change the state machine forbids, or one whose expected state was stale (`actual` differs from `from`). */
export class IllegalTransitionError extends GreenwaveError {
  constructor(
    readonly deploymentId: number,
    readonly from: DeploymentState,
    readonly to: DeploymentState,
    /** The state the deployment was actually in when refused. */
    readonly actual: DeploymentState,
  ) {
    super(
      ErrorCode.IllegalTransition,
      actual === from
        ? `deployment ${deploymentId}: ${from} → ${to} is not a legal transition`
        : `deployment ${deploymentId}: expected it ${from} to move it to ${to}, but it is ${actual}`,
    );
    this.name = 'IllegalTransitionError';
  }
}

export class ConflictError extends GreenwaveError {
  constructor(message: string) {
    super(ErrorCode.Conflict, message);
    this.name = 'ConflictError';
  }
}

export class SchemaTooNewError extends GreenwaveError {
  constructor(
    readonly databaseVersion: number,
    readonly codeVersion: number,
  ) {
    super(ErrorCode.SchemaTooNew, `the database is at schema version ${databaseVersion}, newer than this greenwave knows (${codeVersion}); upgrade greenwave, or open a database it wrote`);
    this.name = 'SchemaTooNewError';
  }
}

/**
 * A write refused by a region's fence (./regionFence.ts): the record holds a newer fencing
 * token for the region than the writer's, so another node took the region over since the
 * writer's lease began. Nothing of the transaction was written.
 */
export class FencedError extends GreenwaveError {
  constructor(
    readonly regionId: string,
    /** The writer's token (its lease's revision). */
    readonly token: number,
    /** The token the record holds, and the node that raised it. */
    readonly recordedToken: number,
    readonly recordedNode: string,
  ) {
    super(ErrorCode.Fenced, `region ${regionId}: write refused by the fence: this writer's lease token ${token} is older than ${recordedToken}, raised by node ${recordedNode} (the region was taken over)`);
    this.name = 'FencedError';
  }
}

/** Wraps a driver failure (cannot open, connection refused, disk full) with the database named. */
export function storageFailure(where: string, e: unknown): GreenwaveError {
  if (e instanceof GreenwaveError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new GreenwaveError(ErrorCode.Storage, `${where}: ${message}`, [], { cause: e });
}
