/**
 * The Modbus request decoder both controller-side servers share (the TCP
 * server in ./server.ts and the RTU server in ../rtu/server.ts): one PDU in,
 * exactly one response PDU out (or none, only when fault injection asks for a
 * dropped write). Transports do the framing; this module does everything the
 * Modbus Application Protocol v1.1b3 asks of a server once a PDU is framed:
 *  - unit routing: an id no unit answers to → exception 0x0B (gateway target
 *    failed to respond), so a client learns at once instead of timing out;
 *  - function codes: 3 and 4 (read holding / input), 6 (write one), 16 (write
 *    many). Every other code — 0, 1, 2, 5, 7, 15, 17, 43, anything — gets
 *    exception 0x01 ILLEGAL FUNCTION (§7, Figure 18: unsupported → 01);
 *  - structure and quantity (§6.3, §6.4, §6.6, §6.12): a PDU whose length does
 *    not match its function ("the implied length is incorrect", §7 code 03),
 *    a read count outside 1..125, an FC16 count outside 1..123, or an FC16
 *    byte count ≠ 2 × count → exception 0x03 ILLEGAL DATA VALUE, nothing done;
 *  - address range: address + count beyond 65536 → 0x02; the unit checks its
 *    own map and throws ModbusException 0x02 / 0x03 for the rest;
 *  - an FC16 block reaches the unit as ONE write (applied all or nothing), and
 *    reads are one synchronous snapshot of the range (never torn);
 *  - any other error a unit throws → 0x04 SERVER DEVICE FAILURE.
 * modbus-serial's request handlers are not used: they answer an FC16 of count 0
 * twice, never check the byte count, and silently ignore function codes they do
 * not implement unless the vector has the matching (coil) methods.
 */
import type { RegisterUnit } from './units.js';
import { ModbusException } from '../errors.js';
import { MODBUS_MAX_READ_REGISTERS, MODBUS_MAX_WRITE_REGISTERS, ModbusExceptionCode } from '../registerMap.js';

/** One request as the server sees it, for fault injection in tests and for tracing. */
export interface ModbusRequestInfo {
  readonly unitId: number;
  /** 3 read holding, 4 read input, 6 write one, 16 write many. */
  readonly functionCode: 3 | 4 | 6 | 16;
  readonly address: number;
  readonly count: number;
}

/** Request counters a server keeps (the TCP server, and the RTU server in ../rtu/server.ts). */
export interface ServerStats {
  requests: number;
  exceptions: number;
  dropped: number;
}

export interface PduHandlerOptions {
  /** Clock in seconds; when given, the addressed unit is ticked to it before each request. */
  readonly clock?: () => number;
  /**
   * Called before each write is applied. Return 'drop' to leave it unapplied and
   * unanswered, or 'applyThenDrop' to apply it and never answer (a controller dying
   * mid-request, before or after acting on it); tests close the server from here.
   */
  readonly beforeWrite?: (req: ModbusRequestInfo) => 'drop' | 'applyThenDrop' | void;
}

/** Answers one request PDU (function code first, no unit id, no CRC); null = no reply (fault injection only). */
export type PduHandler = (unitId: number, pdu: Uint8Array) => Buffer | null;

/** The Modbus register-address space: 0..65535. */
const ADDRESS_SPACE = 0x10000;

export function createPduHandler(units: ReadonlyMap<number, RegisterUnit>, opts: PduHandlerOptions, stats: ServerStats): PduHandler {
  const fail = (fc: number, code: number): Buffer => {
    stats.exceptions++;
    return exceptionPdu(fc, code);
  };
  return (unitId, pdu) => {
    stats.requests++;
    const fc = pdu[0]!;
    const unit = units.get(unitId);
    if (!unit) return fail(fc, ModbusExceptionCode.GatewayTargetFailed);
    if (fc !== 3 && fc !== 4 && fc !== 6 && fc !== 16) return fail(fc, ModbusExceptionCode.IllegalFunction);
    // Every supported request has a 2-byte address and a 2-byte count or value.
    if (pdu.length < 5) return fail(fc, ModbusExceptionCode.IllegalDataValue);
    const address = (pdu[1]! << 8) | pdu[2]!;
    const word = (pdu[3]! << 8) | pdu[4]!;
    if (fc === 3 || fc === 4) {
      if (pdu.length !== 5 || word < 1 || word > MODBUS_MAX_READ_REGISTERS) return fail(fc, ModbusExceptionCode.IllegalDataValue);
      if (address + word > ADDRESS_SPACE) return fail(fc, ModbusExceptionCode.IllegalDataAddress);
      let values: number[];
      try {
        if (opts.clock) unit.tick(opts.clock());
        unit.noteCentralContact();
        values = fc === 3 ? unit.readHolding(address, word) : unit.readInput(address, word);
      } catch (e: unknown) {
        return fail(fc, codeOf(e));
      }
      const out = Buffer.allocUnsafe(2 + 2 * word);
      out[0] = fc;
      out[1] = 2 * word;
      for (let k = 0; k < word; k++) out.writeUInt16BE(values[k]! & 0xffff, 2 + 2 * k);
      return out;
    }
    let values: number[];
    if (fc === 6) {
      if (pdu.length !== 5) return fail(fc, ModbusExceptionCode.IllegalDataValue);
      values = [word];
    } else {
      // FC16: address, count, byte count, then exactly 2 × count bytes.
      if (pdu.length < 6) return fail(fc, ModbusExceptionCode.IllegalDataValue);
      const byteCount = pdu[5]!;
      if (word < 1 || word > MODBUS_MAX_WRITE_REGISTERS || byteCount !== 2 * word || pdu.length !== 6 + byteCount) return fail(fc, ModbusExceptionCode.IllegalDataValue);
      if (address + word > ADDRESS_SPACE) return fail(fc, ModbusExceptionCode.IllegalDataAddress);
      values = new Array<number>(word);
      for (let k = 0; k < word; k++) values[k] = (pdu[6 + 2 * k]! << 8) | pdu[7 + 2 * k]!;
    }
    const fault = opts.beforeWrite?.({ unitId, functionCode: fc, address, count: values.length });
    if (fault === 'drop') {
      stats.dropped++;
      return null; // never answered: the client times out or sees the connection close
    }
    try {
      if (opts.clock) unit.tick(opts.clock());
      unit.noteCentralContact();
      unit.writeHolding(address, values);
    } catch (e: unknown) {
      return fail(fc, codeOf(e));
    }
    if (fault === 'applyThenDrop') {
      stats.dropped++;
      return null;
    }
    // FC6 echoes the request; FC16 answers address and count.
    return Buffer.from(pdu.subarray(0, 5));
  };
}

export function exceptionPdu(fc: number, code: number): Buffer {
  return Buffer.from([(fc | 0x80) & 0xff, code]);
}

function codeOf(e: unknown): number {
  return e instanceof ModbusException ? e.modbusErrorCode : ModbusExceptionCode.DeviceFailure;
}
