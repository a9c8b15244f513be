/**
 * Errors of the controller adapter. Every failure carries the engine-wide
 * `code` (GreenwaveError) and a finer, equally stable `reason` that tools and
 * tests match on, plus the Modbus unit id and, where one came back, the
 * Modbus exception code or the controller's commit status.
 */
import { ErrorCode, GreenwaveError } from '../engine/errors.js';

/** Stable reasons. Never renumber or rename: tools match on them. */
export const ControllerErrorReason = {
  /** The controller did not answer within the request timeout. */
  Timeout: 'MODBUS_TIMEOUT',
  /** The TCP connection could not be opened. */
  ConnectFailed: 'MODBUS_CONNECT_FAILED',
  /** The TCP connection closed while a request was outstanding. */
  ConnectionLost: 'MODBUS_CONNECTION_LOST',
  /** The controller answered with a Modbus exception (see `exceptionCode`). */
  Exception: 'MODBUS_EXCEPTION',
  /** Too many consecutive failures: requests to this controller fail fast until the cooldown ends. */
  CircuitOpen: 'CIRCUIT_OPEN',
  /** The controller refused a committed plan (see `commitStatus`). */
  PlanRejected: 'PLAN_REJECTED',
  /** The controller neither runs nor holds the pushed plan after the commit. */
  PlanNotConfirmed: 'PLAN_NOT_CONFIRMED',
  /** A block read back differs from what was written. */
  ReadbackMismatch: 'READBACK_MISMATCH',
  /** A plan block was read with different plan ids at its head and its tail. */
  TornRead: 'TORN_READ',
  /** The unit id is not configured in this client. */
  UnknownUnit: 'UNKNOWN_UNIT',
  /** A request exceeds a Modbus limit (125 registers per read, 123 per write) or the register map. */
  Limit: 'MODBUS_LIMIT',
  /** The client or server was closed. */
  Closed: 'CLOSED',
  /** A Modbus RTU reply failed its CRC-16 or was malformed (line noise): the request may be retried. */
  BadFrame: 'MODBUS_BAD_FRAME',
  /** A write was not sent because the caller may no longer write to this controller (a cluster node lost the region's lease: service/cluster/). */
  Fenced: 'FENCED',
  /** An SNMP request (NTCIP) got no answer within its timeout and retries. */
  SnmpTimeout: 'SNMP_TIMEOUT',
  /** The SNMP agent answered with an error status (see `snmpErrorStatus`), or the session failed. */
  SnmpError: 'SNMP_ERROR',
} as const;
export type ControllerErrorReason = (typeof ControllerErrorReason)[keyof typeof ControllerErrorReason];

export interface ControllerErrorDetails {
  readonly unitId?: number;
  readonly exceptionCode?: number;
  readonly commitStatus?: number;
  /** SNMP error-status of the response (RFC 3416: 3 badValue, 5 genErr, 14 commitFailed …). */
  readonly snmpErrorStatus?: number;
  readonly cause?: unknown;
}

export class ControllerError extends GreenwaveError {
  readonly reason: ControllerErrorReason;
  readonly unitId: number | undefined;
  readonly exceptionCode: number | undefined;
  readonly commitStatus: number | undefined;
  readonly snmpErrorStatus: number | undefined;

  constructor(reason: ControllerErrorReason, message: string, details: ControllerErrorDetails = {}) {
    super(codeFor(reason), `[${reason}] ${message}`, [], details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ControllerError';
    this.reason = reason;
    this.unitId = details.unitId;
    this.exceptionCode = details.exceptionCode;
    this.commitStatus = details.commitStatus;
    this.snmpErrorStatus = details.snmpErrorStatus;
  }

  /** Transport failures may succeed on a retry; refusals and protocol errors will not. */
  get transient(): boolean {
    return this.reason === ControllerErrorReason.Timeout || this.reason === ControllerErrorReason.ConnectFailed || this.reason === ControllerErrorReason.ConnectionLost || this.reason === ControllerErrorReason.BadFrame || this.reason === ControllerErrorReason.SnmpTimeout || (this.reason === ControllerErrorReason.Exception && this.exceptionCode === 0x06);
  }
}

function codeFor(reason: ControllerErrorReason): ErrorCode {
  switch (reason) {
    case ControllerErrorReason.PlanRejected:
      return ErrorCode.UnsafePlan;
    case ControllerErrorReason.UnknownUnit:
    case ControllerErrorReason.Limit:
      return ErrorCode.InvalidInput;
    case ControllerErrorReason.Closed:
    case ControllerErrorReason.Fenced:
      return ErrorCode.Cancelled;
    case ControllerErrorReason.Timeout:
    case ControllerErrorReason.ConnectFailed:
    case ControllerErrorReason.ConnectionLost:
    case ControllerErrorReason.CircuitOpen:
    case ControllerErrorReason.Exception:
    case ControllerErrorReason.BadFrame:
    case ControllerErrorReason.SnmpTimeout:
    case ControllerErrorReason.SnmpError:
      return ErrorCode.Io;
    default:
      return ErrorCode.Internal;
  }
}

/** Thrown by the virtual controller's register access; the Modbus server turns it into an exception response. */
export class ModbusException extends Error {
  /** The field name modbus-serial's server reads to build the exception response. */
  readonly modbusErrorCode: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'ModbusException';
    this.modbusErrorCode = code;
  }
}
