/**
 * The unit table both Modbus servers (TCP and RTU) route by: unit id →
 * register unit (a virtual controller, or the engine's plan publisher), with
 * the bindings checked once, and the accessors both servers expose.
 */
import type { VirtualController } from '../virtual/controller.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import { MAX_UNIT_ID, MIN_UNIT_ID } from '../registerMap.js';

/**
 * What a server routes a unit id to: a virtual controller, or the engine's
 * plan publisher (controllers that poll greenwave for their timing plan).
 */
export interface RegisterUnit {
  tick(nowS: number): void;
  noteCentralContact(): void;
  readHolding(address: number, count: number): number[];
  writeHolding(address: number, values: readonly number[]): void;
  readInput(address: number, count: number): number[];
}

export interface UnitBinding<U extends RegisterUnit = VirtualController> {
  readonly unitId: number;
  readonly controller: U;
}

export class UnitTable<U extends RegisterUnit> {
  protected constructor(protected readonly units: Map<number, U>) {}

  /** Checks the bindings (ids within 1..247, none twice) and returns the table. */
  protected static bind<U extends RegisterUnit>(bindings: readonly UnitBinding<U>[]): Map<number, U> {
    const units = new Map<number, U>();
    for (const b of bindings) {
      if (!(Number.isInteger(b.unitId) && b.unitId >= MIN_UNIT_ID && b.unitId <= MAX_UNIT_ID)) throw new ControllerError(ControllerErrorReason.Limit, `unit id ${b.unitId} must be an integer within [${MIN_UNIT_ID}, ${MAX_UNIT_ID}]`);
      if (units.has(b.unitId)) throw new ControllerError(ControllerErrorReason.Limit, `unit id ${b.unitId} is bound twice`);
      units.set(b.unitId, b.controller);
    }
    return units;
  }

  /** Unit ids served, ascending. */
  unitIds(): number[] {
    return [...this.units.keys()].sort((a, b) => a - b);
  }

  controller(unitId: number): U | undefined {
    return this.units.get(unitId);
  }

  /** Ticks every unit to `nowS`. */
  tick(nowS: number): void {
    for (const c of this.units.values()) c.tick(nowS);
  }
}
