import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { createPlanBuffer, type PlanBuffer } from '../../engine/timing/planner.js';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { mod } from '../../engine/numeric.js';
import { VirtualController, MAX_LENGTHEN_SHARE, MAX_SHORTEN_SHARE } from './controller.js';
import { copyIntersectionPlan, crc16ModbusRegisters, encodePlanBlock } from '../codec.js';
import { ModbusException } from '../errors.js';
import { CommitStatus, ControllerMode, FaultFlag, HR_COMMIT, HR_STAGE, IR_DET_SEQ, IR_DETECTORS, PB_PHASES, PH_YELLOW_DS, ModbusExceptionCode } from '../registerMap.js';
import { demoNetwork, demoPlan, dualRingIntersection, planFromVolumes } from '../../test/fixtures/controllers/demo.js';

/** Stages a block (with its CRC unless one is given) and commits it; returns the commit status. */
function commit(v: VirtualController, block: Uint16Array, crc = crc16ModbusRegisters(block)): number {
  v.writeHolding(HR_STAGE, [...block, crc]);
  v.writeHolding(HR_COMMIT, [1]);
  return v.readHolding(HR_COMMIT, 1)[0]!;
}

function runUntil(v: VirtualController, untilS: number, stepS = 0.5): void {
  for (let t = v.clockS + stepS; t <= untilS; t += stepS) v.tick(t);
  v.tick(untilS);
}

/** Movements that may never show together, derived here from the compiled network (independent of the controller). */
function conflictTable(c: CompiledNetwork, i: number): Uint16Array {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  const together = new Uint16Array(16);
  for (let a = p0; a < p1; a++) {
    for (let b = p0; b < p1; b++) {
      if ((c.phaseConflictMask[a]! >>> (b - p0)) & 1) continue;
      const sa = c.phaseProtectedMask[a]! | c.phasePermittedMask[a]!;
      const sb = c.phaseProtectedMask[b]! | c.phasePermittedMask[b]!;
      for (let m = 0; m < 16; m++) if (sa & (1 << m)) together[m] = together[m]! | sb;
    }
  }
  return together.map((x) => ~x & 0xffff);
}

describe('VirtualController', () => {
  const c = demoNetwork();
  const plan = demoPlan();

  test('runs every demo plan for two hours without a monitor fault, in step with the offset', () => {
    for (let i = 0; i < c.intersectionCount; i++) {
      const v = new VirtualController(c, i, plan, { startS: 0, commLossTimeoutS: 0 });
      runUntil(v, 7200, 0.7);
      expect(v.state(), v.faultMessage).toMatchObject({ mode: ControllerMode.Coordinated, faults: 0 });
      const { startS, cycleS } = v.runningCycle();
      expect(mod(startS - plan.offsetS[i]!, plan.cycleS[i]!)).toBeCloseTo(0, 6);
      expect(cycleS).toBe(plan.cycleS[i]);
    }
  });

  test('a clock that jumps two hours (a controller asked only now and then, a suspended process) is replayed: no monitor fault, in step with the offset', () => {
    for (let i = 0; i < c.intersectionCount; i++) {
      const v = new VirtualController(c, i, plan, { startS: 0, commLossTimeoutS: 0 });
      runUntil(v, 300, 0.5);
      // From the middle of a green, 2 h on in one tick (it used to re-anchor past an hour: all red at once, and the monitor flashed).
      let t = 300;
      while (v.lamps().green === 0) {
        t += 0.5;
        v.tick(t);
      }
      v.tick(t + 2 * 3600);
      expect(v.state(), v.faultMessage).toMatchObject({ mode: ControllerMode.Coordinated, faults: 0 });
      expect(mod(v.runningCycle().startS - plan.offsetS[i]!, plan.cycleS[i]!)).toBeCloseTo(0, 6);
    }
  });

  test('a committed plan waits for cycle zero, then runs; the staging block is what runs', () => {
    const i = 1;
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0 });
    runUntil(v, 30);
    const next = planFromVolumes(new Float64Array(c.detectorIds.length).fill(40));
    const block = encodePlanBlock(c, i, next, 5);
    expect(commit(v, block)).toBe(CommitStatus.Pending);
    expect(v.state()).toMatchObject({ activePlanId: 0, pendingPlanId: 5 });
    const { startS, cycleS } = v.runningCycle();
    v.tick(startS + cycleS - 0.01);
    expect(v.state().activePlanId).toBe(0);
    v.tick(startS + cycleS + 0.01);
    expect(v.state()).toMatchObject({ activePlanId: 5, pendingPlanId: 0, commitStatus: CommitStatus.Active, planSwitches: 1 });
    expect([...v.activePlanBlock()]).toEqual([...block]);
  });

  test('refusals keep the old plan running, each with its status code', () => {
    const i = dualRingIntersection(c);
    expect(i).toBeGreaterThanOrEqual(0);
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0 });
    runUntil(v, 20);
    const good = encodePlanBlock(c, i, plan, 9);
    expect(commit(v, good, (crc16ModbusRegisters(good) + 1) & 0xffff)).toBe(CommitStatus.CrcMismatch);
    // Yellow shortened below the required change interval.
    const shortYellow = good.slice();
    shortYellow[PB_PHASES + PH_YELLOW_DS] = 20;
    expect(commit(v, shortYellow)).toBe(CommitStatus.Unsafe);
    expect(v.state().lastRejection).toMatch(/yellow/);
    // Ring 1 lengthened in barrier 1 only: its phase overlaps conflicting phases of the next barrier.
    const overlap = createPlanBuffer(c);
    copyIntersectionPlan(c, i, plan, overlap);
    overlap.phaseGreenS[c.phaseStart[i]!] = overlap.phaseGreenS[c.phaseStart[i]!]! + 10;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if (c.phaseRing[p] === 0 && overlap.phaseStartS[p]! > overlap.phaseStartS[c.phaseStart[i]!]!) overlap.phaseStartS[p] = overlap.phaseStartS[p]! + 10;
    overlap.cycleS[i] = overlap.cycleS[i]! + 10;
    expect(commit(v, encodePlanBlock(c, i, overlap, 10))).toBe(CommitStatus.Unsafe);
    expect(v.state().lastRejection).toMatch(/ring|overlap|barrier/);
    const zeroId = good.slice();
    zeroId[0] = 0;
    zeroId[zeroId.length - 1] = 0;
    expect(commit(v, zeroId)).toBe(CommitStatus.Malformed);
    expect(v.state()).toMatchObject({ activePlanId: 0, pendingPlanId: 0, faults: FaultFlag.CommitRejected });
    runUntil(v, 400);
    expect(v.state()).toMatchObject({ activePlanId: 0, mode: ControllerMode.Coordinated });
    expect(v.state().faults & (FaultFlag.Conflict | FaultFlag.Clearance)).toBe(0);
    // A good plan clears the rejection flag.
    expect(commit(v, good)).toBe(CommitStatus.Pending);
    expect(v.state().faults).toBe(0);
  });

  test('conflicting lamp outputs → latched flash with the conflict flag; no plan accepted in flash', () => {
    const i = 0;
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0 });
    runUntil(v, 10);
    const m = 31 - Math.clz32(v.movementMask & -v.movementMask);
    const other = v.conflictsOf(m);
    expect(other).not.toBe(0);
    v.forceOutputs((1 << m) | (other & -other), 0);
    expect(v.state().mode).toBe(ControllerMode.Flash);
    expect(v.state().faults & FaultFlag.Conflict).toBe(FaultFlag.Conflict);
    expect(v.lamps()).toMatchObject({ green: 0, yellow: 0, flashing: true });
    expect(commit(v, encodePlanBlock(c, i, plan, 3))).toBe(CommitStatus.RefusedInFlash);
    runUntil(v, 200);
    expect(v.state().mode).toBe(ControllerMode.Flash);
    v.resetFault();
    runUntil(v, 600);
    expect(v.state()).toMatchObject({ mode: ControllerMode.Coordinated });
    expect(v.state().faults & FaultFlag.Conflict).toBe(0);
  });

  test('green to red without yellow under manual control is a clearance fault', () => {
    const v = new VirtualController(c, 0, plan, { commLossTimeoutS: 0 });
    const m = 31 - Math.clz32(v.movementMask & -v.movementMask);
    v.tick(1);
    v.forceOutputs(1 << m, 0);
    v.tick(20);
    v.forceOutputs(0, 0);
    expect(v.state().faults & FaultFlag.Clearance).toBe(FaultFlag.Clearance);
    expect(v.faultMessage).toMatch(/without yellow/);
  });

  test('communication loss → free mode on the last committed plan; contact → coordinated', () => {
    const v = new VirtualController(c, 2, plan, { commLossTimeoutS: 30 });
    runUntil(v, 29);
    expect(v.state().mode).toBe(ControllerMode.Coordinated);
    runUntil(v, 31);
    expect(v.state()).toMatchObject({ mode: ControllerMode.Free, faults: FaultFlag.CommLoss });
    runUntil(v, 500);
    expect(v.state().mode).toBe(ControllerMode.Free);
    v.noteCentralContact();
    expect(v.state()).toMatchObject({ mode: ControllerMode.Coordinated, faults: 0 });
  });

  test('offset change is corrected the short way within 12 % / 22 % per cycle, minimum greens kept', () => {
    for (const shift of [0.3, 0.7]) {
      const i = 0;
      const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0 });
      const moved = createPlanBuffer(c);
      copyIntersectionPlan(c, i, plan, moved);
      const cyc = plan.cycleS[i]!;
      moved.offsetS[i] = Math.round(mod(plan.offsetS[i]! + shift * cyc, cyc) * 10) / 10;
      runUntil(v, 5);
      expect(commit(v, encodePlanBlock(c, i, moved, 2))).toBe(CommitStatus.Pending);
      let last = v.runningCycle();
      const lengths: number[] = [];
      for (let t = 5; t < 20 * cyc; t += 0.5) {
        v.tick(t);
        const now = v.runningCycle();
        if (now.startS !== last.startS) lengths.push(now.cycleS);
        last = now;
      }
      expect(v.state().faults, v.faultMessage).toBe(0);
      for (const len of lengths) {
        expect(len).toBeGreaterThanOrEqual(cyc * (1 - MAX_SHORTEN_SHARE) - 1e-6);
        expect(len).toBeLessThanOrEqual(cyc * (1 + MAX_LENGTHEN_SHARE) + 1e-6);
      }
      // Shortening when less than half a cycle late would be wrong, and vice versa.
      const corrected = lengths.filter((l) => Math.abs(l - cyc) > 1e-6);
      expect(corrected.length).toBeGreaterThan(0);
      if (shift < 0.5) expect(corrected.every((l) => l > cyc)).toBe(true);
      else expect(corrected.every((l) => l < cyc)).toBe(true);
      expect(mod(last.startS - moved.offsetS[i]!, cyc)).toBeCloseTo(0, 6);
    }
  });

  test('detector counts latch on a read of the sequence register', () => {
    const v = new VirtualController(c, 0, plan, { commLossTimeoutS: 0 });
    v.tick(10);
    v.addDetectorCounts(0, 7, 3.5);
    v.addDetectorCounts(3, 2);
    const regs = v.readInput(IR_DET_SEQ, 1 + 2 * v.detectorCount);
    expect(regs[0]).toBe(1);
    expect(regs.slice(1, 3)).toEqual([7, 350]);
    expect(regs[1 + 2 * 3]).toBe(2);
    // Status-only reads do not latch; the next latch starts from zero.
    v.readInput(0, 16);
    const again = v.readInput(IR_DET_SEQ, 3);
    expect(again).toEqual([2, 0, 0]);
    expect(v.readInput(IR_DETECTORS, 2)).toEqual([0, 0]);
  });

  test('register access errors carry Modbus exception codes', () => {
    const v = new VirtualController(c, 0, plan);
    const code = (fn: () => unknown): number | undefined => {
      try {
        fn();
      } catch (e: unknown) {
        return e instanceof ModbusException ? e.modbusErrorCode : -1;
      }
      return undefined;
    };
    expect(code(() => v.readHolding(405, 4))).toBe(ModbusExceptionCode.IllegalDataAddress);
    // The event block: no log, no cursor to write.
    expect(code(() => v.writeHolding(286, [0, 1]))).toBe(ModbusExceptionCode.IllegalDataAddress);
    expect(code(() => v.readHolding(0, 126))).toBe(ModbusExceptionCode.IllegalDataValue);
    expect(code(() => v.readInput(81, 1))).toBe(ModbusExceptionCode.IllegalDataAddress);
    expect(code(() => v.writeHolding(72, [1]))).toBe(ModbusExceptionCode.IllegalDataAddress);
    expect(code(() => v.writeHolding(HR_COMMIT, [4]))).toBe(ModbusExceptionCode.IllegalDataValue);
    // 2 and 3 are priority-override commits: accepted as commands, then checked like a plan (here: CRC).
    expect(code(() => v.writeHolding(HR_COMMIT, [2]))).toBeUndefined();
    expect(v.readHolding(HR_COMMIT, 1)).toEqual([16]);
    // All or nothing: a bad commit value in the same request leaves the staging block untouched.
    expect(code(() => v.writeHolding(0, new Array(71).fill(0).map((_, k) => (k === 70 ? 5 : 9))))).toBe(ModbusExceptionCode.IllegalDataValue);
    expect(v.readHolding(0, 4)).toEqual([0, 0, 0, 0]);
  });
});

describe('VirtualController property: lamp outputs are always safe', () => {
  const c = demoNetwork();
  const nDet = c.detectorIds.length;
  const arbPlan = fc.array(fc.integer({ min: 0, max: 120 }), { minLength: nDet, maxLength: nDet }).chain((vols) => fc.boolean().map((coordinate) => ({ vols, coordinate })));

  test('no conflicting greens, never a skipped yellow or all-red, across random plans, switches and tick steps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: c.intersectionCount - 1 }),
        arbPlan,
        fc.array(fc.record({ plan: arbPlan, atS: fc.double({ min: 0, max: 400, noNaN: true }) }), { maxLength: 3 }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        (i, first, switches, stepS, startS) => {
          const plans = new Map<string, PlanBuffer>();
          const planOf = (p: { vols: number[]; coordinate: boolean }): PlanBuffer => {
            const key = `${p.coordinate}:${p.vols.join(',')}`;
            let b = plans.get(key);
            if (!b) {
              b = planFromVolumes(Float64Array.from(p.vols), 900, p.coordinate);
              plans.set(key, b);
            }
            return b;
          };
          const v = new VirtualController(c, i, planOf(first), { startS, commLossTimeoutS: 0 });
          const conflicts = conflictTable(c, i);
          const lastSeen = new Float64Array(16).fill(-Infinity); // last sample the movement was green or yellow
          const seenYellow = new Uint8Array(16); // a yellow sample after its last green sample
          const wasGreen = new Uint8Array(16);
          const pending = [...switches].sort((a, b) => a.atS - b.atS);
          let id = 1;
          const end = startS + 450;
          for (let t = startS; t <= end; t += stepS) {
            while (pending.length > 0 && pending[0]!.atS + startS <= t) {
              const s = pending.shift()!;
              const block = encodePlanBlock(c, i, planOf(s.plan), id++);
              const status = commit(v, block);
              if (status !== CommitStatus.Pending) return false;
            }
            v.tick(t);
            const { green, yellow } = v.lamps();
            if (v.state().mode !== ControllerMode.Coordinated) throw new Error(`monitor fault: ${v.faultMessage}`);
            const lit = green | yellow;
            for (let m = 0; m < 16; m++) {
              const bit = 1 << m;
              if (lit & bit && (lit & conflicts[m]!) !== 0) throw new Error(`t=${t}: movement ${m} lit with conflicting ${(lit & conflicts[m]!).toString(2)}`);
              if (green & bit && !wasGreen[m]) {
                // Turning green: every conflicting movement last lit earlier must have shown yellow, then red for a while.
                for (let o = 0; o < 16; o++) {
                  if (!(conflicts[m]! & (1 << o)) || lastSeen[o] === -Infinity) continue;
                  if (!seenYellow[o]) throw new Error(`t=${t}: movement ${m} green after conflicting ${o} without a yellow`);
                  const p0 = c.phaseStart[i]!;
                  let minRed = Infinity;
                  for (let p = p0; p < c.phaseStart[i + 1]!; p++) if ((c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!) & (1 << o)) minRed = Math.min(minRed, c.phaseAllRedS[p]!);
                  if (t - lastSeen[o]! < minRed - stepS - 1e-6) throw new Error(`t=${t}: movement ${m} green ${t - lastSeen[o]!} s after conflicting ${o} (all-red ${minRed})`);
                }
              }
              if (green & bit) seenYellow[m] = 0;
              else if (yellow & bit) seenYellow[m] = 1;
              if (lit & bit) lastSeen[m] = t;
              wasGreen[m] = green & bit ? 1 : 0;
            }
          }
          return v.state().faults === 0;
        },
      ),
      { numRuns: 60, seed: 20261124 },
    );
  });
});
