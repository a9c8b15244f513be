/**
 * A virtual parking guidance sign: the sign register block (../signBlock.ts,
 * docs/modbus-register-map.md "Parking guidance signs") behind a Modbus unit
 * id, served by the same ControllerServer as the virtual signal controllers.
 * Tests and `greenwave controllers --parking FILE` run it; the service's sign
 * pusher (service/signPusher.ts) writes it through SignClient.
 *
 * Behaviour: an FC16 is applied atomically (every register checked first),
 * the commit inside it runs after the other registers; a commit checks the
 * CRC and the block's shape and, accepted, shows the message at once (a sign
 * has no cycle zero to wait for). A refusal changes nothing shown. With a
 * communication-loss timeout set, a sign that hears nothing from central for
 * that long shows "—" on every line (it cannot know whether its numbers are
 * still true), until the next commit.
 */
import { crc16ModbusRegisters } from '../codec.js';
import { ModbusException } from '../errors.js';
import { ModbusExceptionCode } from '../registerMap.js';
import type { RegisterUnit } from '../modbus/units.js';
import {
  HR_SIGN_COMMIT,
  HR_SIGN_CRC,
  HR_SIGN_LAST_COMMIT,
  HR_SIGN_SHOWN,
  HR_SIGN_SHOWN_CRC,
  HR_SIGN_STAGE,
  HR_SIGN_TIMEOUT_S,
  MAX_COMM_LOSS_TIMEOUT_S,
  SB_MESSAGE_ID,
  SIGN_BLOCK_LENGTH,
  SIGN_COMMIT_COMMAND,
  SIGN_REGISTER_COUNT,
  SIGN_WRITABLE_END,
  SignStatus,
  checkSignBlock,
  decodeSignBlock,
  type SignMessageRegisters,
} from '../signBlock.js';

export class VirtualSign implements RegisterUnit {
  private readonly regs = new Uint16Array(SIGN_REGISTER_COUNT);
  private nowS: number;
  private lastContactS: number;
  /** Messages accepted since start (tests: a push that changed nothing is not counted twice by the pusher). */
  commits = 0;
  /** Why the last refused commit was refused. */
  lastRefusal = '';

  constructor(startS = Date.now() / 1000) {
    this.nowS = startS;
    this.lastContactS = startS;
  }

  tick(nowS: number): void {
    if (nowS > this.nowS) this.nowS = nowS;
    const timeout = this.regs[HR_SIGN_TIMEOUT_S]!;
    if (timeout > 0 && this.nowS - this.lastContactS > timeout && this.regs[HR_SIGN_SHOWN + SB_MESSAGE_ID] !== 0) this.regs[HR_SIGN_COMMIT] = SignStatus.Blanked;
  }

  noteCentralContact(): void {
    this.lastContactS = this.nowS;
  }

  readHolding(address: number, count: number): number[] {
    if (address < 0 || count < 1 || address + count > SIGN_REGISTER_COUNT) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `registers ${address}..${address + count - 1} are outside the sign block (0..${SIGN_REGISTER_COUNT - 1})`);
    return Array.from(this.regs.subarray(address, address + count));
  }

  writeHolding(address: number, values: readonly number[]): void {
    const end = address + values.length;
    if (address < 0 || end > SIGN_WRITABLE_END) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `registers ${address}..${end - 1}: writable are 0..${SIGN_WRITABLE_END - 1}`);
    const at = (r: number): number | undefined => (r >= address && r < end ? values[r - address] : undefined);
    const commit = at(HR_SIGN_COMMIT);
    if (commit !== undefined && commit !== SIGN_COMMIT_COMMAND) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `commit ${commit}: only ${SIGN_COMMIT_COMMAND} commits`);
    const timeout = at(HR_SIGN_TIMEOUT_S);
    if (timeout !== undefined && timeout > MAX_COMM_LOSS_TIMEOUT_S) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `timeout ${timeout} s > ${MAX_COMM_LOSS_TIMEOUT_S}`);
    values.forEach((v, k) => {
      const r = address + k;
      if (r !== HR_SIGN_COMMIT) this.regs[r] = v;
    });
    if (commit !== undefined) this.commit();
  }

  readInput(address: number, count: number): number[] {
    throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `a sign has no input registers (${address}..${address + count - 1})`);
  }

  /** The message shown, decoded (undefined before the first accepted commit); `blanked` after a communication loss. */
  shown(): (SignMessageRegisters & { blanked: boolean }) | undefined {
    const m = decodeSignBlock(this.regs, HR_SIGN_SHOWN);
    return m && { ...m, blanked: this.regs[HR_SIGN_COMMIT] === SignStatus.Blanked };
  }

  get status(): number {
    return this.regs[HR_SIGN_COMMIT]!;
  }

  private commit(): void {
    const r = this.regs;
    r[HR_SIGN_LAST_COMMIT] = r[HR_SIGN_STAGE + SB_MESSAGE_ID]!;
    if (crc16ModbusRegisters(r, HR_SIGN_STAGE, SIGN_BLOCK_LENGTH) !== r[HR_SIGN_CRC]) {
      this.refuse(SignStatus.CrcMismatch, 'CRC mismatch');
      return;
    }
    const bad = checkSignBlock(r, HR_SIGN_STAGE);
    if (bad !== undefined) {
      this.refuse(SignStatus.Malformed, bad);
      return;
    }
    r.copyWithin(HR_SIGN_SHOWN, HR_SIGN_STAGE, HR_SIGN_STAGE + SIGN_BLOCK_LENGTH);
    r[HR_SIGN_SHOWN_CRC] = r[HR_SIGN_CRC]!;
    r[HR_SIGN_COMMIT] = SignStatus.Shown;
    this.commits++;
  }

  private refuse(status: number, why: string): void {
    this.regs[HR_SIGN_COMMIT] = status;
    this.lastRefusal = why;
  }
}
