/**
 * The engine as a Modbus server for controller hardware that polls greenwave
 * for its timing plan (issue 5, item 3): one unit id per intersection, the
 * current plan as read-only holding registers in the plan-block layout of the
 * register map (plan id first and last, then its CRC), so a controller reading
 * the block in one FC3 gets one consistent snapshot, and one that reads it in
 * pieces can tell a torn read (head ≠ tail) and read again. Unknown units get
 * 0x0B and addresses outside the block 0x02 (from the shared server); writes
 * get 0x01: hardware reads this server, it never writes it.
 * Served by the same ControllerServer as the virtual controllers.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { IssueList, UnsafePlanError } from '../../engine/errors.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { crc16ModbusRegisters, encodePlanBlock } from '../codec.js';
import { ModbusException } from '../errors.js';
import { ModbusExceptionCode, PLAN_BLOCK_LENGTH } from '../registerMap.js';
import type { RegisterUnit } from './server.js';

/** Published registers: the plan block, then its CRC-16/MODBUS. */
export const PUBLISHED_LENGTH = PLAN_BLOCK_LENGTH + 1;

/** One intersection's published plan. */
export class PublishedPlan implements RegisterUnit {
  /** Replaced whole on publish, never edited in place: a read sees one version. */
  private regs = new Uint16Array(PUBLISHED_LENGTH);
  private planId = 0;

  constructor(
    private readonly c: CompiledNetwork,
    readonly intersection: number,
  ) {}

  /** Publishes intersection `i` of `plan` (validated first; an unsafe plan is never served). */
  publish(plan: PlanBuffer): number {
    const issues = new IssueList();
    if (!validateIntersectionPlan(this.c, this.intersection, plan, issues)) throw new UnsafePlanError(this.c.intersectionIds[this.intersection]!, issues.items);
    this.planId = (this.planId % 0xffff) + 1;
    const next = new Uint16Array(PUBLISHED_LENGTH);
    encodePlanBlock(this.c, this.intersection, plan, this.planId, next.subarray(0, PLAN_BLOCK_LENGTH));
    next[PLAN_BLOCK_LENGTH] = crc16ModbusRegisters(next, 0, PLAN_BLOCK_LENGTH);
    this.regs = next;
    return this.planId;
  }

  tick(): void {}
  noteCentralContact(): void {}

  readHolding(address: number, count: number): number[] {
    if (this.planId === 0) throw new ModbusException(ModbusExceptionCode.Busy, 'no plan published yet');
    if (address < 0 || count < 1 || address + count > PUBLISHED_LENGTH) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `registers ${address}..${address + count - 1} are outside the published plan (0..${PUBLISHED_LENGTH - 1})`);
    return Array.from(this.regs.subarray(address, address + count));
  }

  writeHolding(): void {
    throw new ModbusException(ModbusExceptionCode.IllegalFunction, 'the published plan is read-only');
  }

  readInput(address: number, count: number): number[] {
    throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `no input registers (${address}..${address + count - 1})`);
  }
}

/** Publishers for every intersection of the network, unit id = intersection index + 1. */
export function publishersFor(c: CompiledNetwork): { unitId: number; controller: PublishedPlan }[] {
  return c.intersectionIds.map((_, i) => ({ unitId: i + 1, controller: new PublishedPlan(c, i) }));
}
