/**
 * Typed errors for the whole engine. Every failure that reaches a user carries a
 * stable `code` (for programs) and, where input was at fault, the path of the bad
 * field (for people). Called by every module that rejects input; the CLI and the
 * later gRPC edge map these codes to exit codes and statuses in one place.
 */

/** Stable error codes. Never renumber or rename: tools match on them. */
export const ErrorCode = {
  /** The input file or request broke one or more rules; see `issues`. */
  InvalidInput: 'INVALID_INPUT',
  /** A file could not be read at all. */
  Io: 'IO_ERROR',
  /** A plan failed the safety validator. It must never leave the engine. */
  UnsafePlan: 'UNSAFE_PLAN',
  /** Something the engine assumed cannot happen did happen. */
  Internal: 'INTERNAL',
  /** The caller aborted the work (AbortSignal) or shut down the component running it. */
  Cancelled: 'CANCELLED',
  /** The thing asked for (a deployment, a plan version, a priority request) does not exist. */
  NotFound: 'NOT_FOUND',
  /** A deployment was asked to move to a state its current state cannot reach (or it was not in the expected state any more). */
  IllegalTransition: 'ILLEGAL_TRANSITION',
  /** The write contradicts what is stored (a closed request, a plan already in flight on a controller, a read-back plan id that differs). */
  Conflict: 'CONFLICT',
  /** The database was written by a newer greenwave: its schema version is above the newest this code knows. */
  SchemaTooNew: 'SCHEMA_TOO_NEW',
  /** The database failed or could not be reached. */
  Storage: 'STORAGE_ERROR',
  /**
   * A cluster node's write for a region it no longer holds: the region's fencing token in the
   * record (or at the controller's fence) is newer than the writer's lease (docs/cluster.md).
   */
  Fenced: 'FENCED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem in an input, located by a path such as `intersections[3].phases[1].minGreenS`. */
export interface Issue {
  readonly path: string;
  readonly message: string;
  /** Stable name of the rule that fired, where the checker has one (e.g. the validator's 'MIN_GREEN'). */
  readonly code?: string;
}

export class GreenwaveError extends Error {
  readonly code: ErrorCode;
  readonly issues: readonly Issue[];

  constructor(code: ErrorCode, message: string, issues: readonly Issue[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GreenwaveError';
    this.code = code;
    this.issues = issues;
  }

  /** Normalizes anything caught into a GreenwaveError, keeping the original as `cause`. */
  static from(reason: unknown, code: ErrorCode = ErrorCode.Internal): GreenwaveError {
    if (reason instanceof GreenwaveError) return reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    return new GreenwaveError(code, message, [], { cause: reason });
  }
}

/** Input that broke rules. All problems are collected first, then thrown together. */
export class ValidationError extends GreenwaveError {
  constructor(what: string, issues: readonly Issue[]) {
    super(ErrorCode.InvalidInput, `${what}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${formatIssues(issues)}`, issues);
    this.name = 'ValidationError';
  }
}

/**
 * A bad option given to a component by the program that builds it (a pool's size, a
 * client's timeout, a simulator's step), as opposed to bad input from a file or a request.
 * Every constructor and API that checks its options throws this one class, with the option's
 * path first in the message (`options.size must be an integer >= 1, got 0`) and as the issue's path.
 */
export class OptionError extends GreenwaveError {
  readonly option: string;
  constructor(option: string, problem: string) {
    super(ErrorCode.InvalidInput, `${option} ${problem}`, [{ path: option, message: problem }]);
    this.name = 'OptionError';
    this.option = option;
  }
}

/** A plan the safety validator rejected; carries every violated rule. */
export class UnsafePlanError extends GreenwaveError {
  constructor(intersectionId: string, issues: readonly Issue[]) {
    super(ErrorCode.UnsafePlan, `unsafe plan for intersection ${intersectionId}\n${formatIssues(issues)}`, issues);
    this.name = 'UnsafePlanError';
  }
}

export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n');
}

/** Collects issues while walking an input; paths are built by the caller. */
export class IssueList {
  readonly items: Issue[] = [];
  add(path: string, message: string, code?: string): void {
    this.items.push(code === undefined ? { path, message } : { path, message, code });
  }
  /** True if some issue carries `code`. */
  has(code: string): boolean {
    return this.items.some((i) => i.code === code);
  }
  get length(): number {
    return this.items.length;
  }
  throwIfAny(what: string): void {
    if (this.items.length > 0) throw new ValidationError(what, this.items);
  }
}
