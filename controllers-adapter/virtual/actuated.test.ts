/**
 * The virtual controller running actuated (options.actuated / setActuated, or a plan committed
 * over the registers with its actuated block): the engine's one
 * cycle runner gaps out, maxes out, forces off and skips on the controller's detectors, under
 * the controller's own conflict monitor (MMU). On the demo city (stage lists and a NEMA dual
 * ring), coordinated along the corridor's through movements and fully actuated elsewhere.
 */
import { describe, expect, test } from 'vitest';
import { mulberry32 } from '../../engine/numeric.js';
import { actuatedPlan, CONTROL_COORDINATED, CONTROL_FREE } from '../../engine/timing/actuated.js';
import { UnsafePlanError } from '../../engine/errors.js';
import { APPROACH_IDS } from '../../engine/network/schema.js';
import { crc16ModbusRegisters, encodePlanBlock } from '../codec.js';
import { detectorRange, VirtualController } from './controller.js';
import { AB_MODE, AB_PHASES, ActuatedMode, AP_MAX_GREEN_DS, AP_MIN_GREEN_DS, CommitStatus, ControllerMode, HR_ACT_STAGE, HR_COMMIT, HR_STAGE, OverrideCommand } from '../registerMap.js';
import { encodeActuatedBlock } from '../actuatedBlock.js';
import { demoNetwork, demoPlan, planFromVolumes } from '../../test/fixtures/controllers/demo.js';

const c = demoNetwork();
const plan = demoPlan();
/** Movement bits (approach * 4 + turn) of the east–west and north–south approaches. */
const bits = (...a: string[]) => a.reduce((m, x) => m | (0xf << (4 * APPROACH_IDS.indexOf(x as never))), 0);
const EW = bits('EB', 'WB');
const NS = bits('NB', 'SB');
const coordinatedEW = c.intersectionIds.map((id) => ({ intersectionId: id, approaches: ['EB', 'WB'] as const }));

function commitWithSettings(v: VirtualController, block: Uint16Array, act: Uint16Array): number {
  v.writeHolding(HR_ACT_STAGE, [...act, crc16ModbusRegisters(act)]);
  return commit(v, block);
}

function commit(v: VirtualController, block: Uint16Array, command = 1): number {
  v.writeHolding(HR_STAGE, [...block, crc16ModbusRegisters(block)]);
  v.writeHolding(HR_COMMIT, [command]);
  return v.readHolding(HR_COMMIT, 1)[0]!;
}

describe('VirtualController actuated', () => {
  test('runs every demo intersection actuated for two hours, free and coordinated, with irregular ticks: no monitor fault, and every actuated decision happens', () => {
    const rnd = mulberry32(7);
    const totals = { passes: 0, gapOuts: 0, maxOuts: 0, forceOffs: 0, skips: 0 };
    for (const coordinated of [false, true]) {
      const a = actuatedPlan(c, plan, coordinated ? coordinatedEW : []);
      for (let i = 0; i < c.intersectionCount; i++) {
        // Light to heavy demand per detector, none on some.
        const n = detectorRange(c, i).count;
        const rates = Array.from({ length: n }, () => (rnd() < 0.2 ? 0 : 50 + 900 * rnd()));
        const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0, detectorVehPerH: rates, actuated: a });
        let t = 0;
        while (t < 7200) {
          t += 0.2 + 2.5 * rnd();
          v.tick(t);
        }
        expect(v.state(), v.faultMessage).toMatchObject({ mode: ControllerMode.Coordinated, faults: 0 });
        expect(v.actuated).toBe(true);
        const s = v.actuatedStats();
        for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += s[k];
        // Coordinated mode keeps the plan's cycle.
        if (a.mode[i] === CONTROL_COORDINATED) expect(v.runningCycle().cycleS).toBe(plan.cycleS[i]);
        if (a.mode[i] === CONTROL_FREE && coordinated) throw new Error('every demo intersection has an EB/WB through phase');
      }
    }
    console.log(`demo city, 2 h per intersection, free then coordinated: ${JSON.stringify(totals)}`);
    for (const [k, x] of Object.entries(totals)) expect(x, k).toBeGreaterThan(20);
  });

  test('fully actuated: side-street detectors with no vehicles leave the main street green; a vehicle there is served after its minimum green', () => {
    const i = 0;
    const a = actuatedPlan(c, plan, []);
    const n = detectorRange(c, i).count;
    const det = c.detectorIds.slice(detectorRange(c, i).start, detectorRange(c, i).start + n);
    // Vehicles only on the east–west detectors.
    const ew = det.map((id) => {
      const lane = c.detectorLane[c.detectorIds.indexOf(id)]!;
      const p = c.lanePhase[lane]!;
      return p >= 0 && (c.phaseProtectedMask[p]! & EW) !== 0 && (c.phaseProtectedMask[p]! & NS) === 0;
    });
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0, detectorVehPerH: ew.map((x) => (x ? 400 : 0)), actuated: a });
    for (let t = 0.5; t <= 900; t += 0.5) v.tick(t);
    // North–south movements dark for the last 10 minutes.
    let nsGreen = 0;
    for (let t = 900.5; t <= 1500; t += 0.5) {
      v.tick(t);
      if ((v.lamps().green & NS) !== 0) nsGreen++;
    }
    expect(nsGreen).toBe(0);
    expect(v.lamps().green & EW).not.toBe(0);
    const nsDet = ew.findIndex((x, d) => !x && c.lanePhase[c.detectorLane[detectorRange(c, i).start + d]!]! >= 0);
    v.actuate(nsDet);
    let servedAt = -1;
    for (let t = 1500.5; t <= 1700 && servedAt < 0; t += 0.5) {
      v.tick(t);
      if ((v.lamps().green & NS) !== 0) servedAt = t;
    }
    expect(servedAt).toBeGreaterThan(1500);
    expect(servedAt).toBeLessThan(1500 + 60);
    expect(v.state().faults).toBe(0);
  });

  test('refuses settings the validator refuses, a commit its settings do not fit, and an override of the running cycle', () => {
    const i = 1;
    const a = actuatedPlan(c, plan, coordinatedEW);
    const bad = { ...a, passageS: a.passageS.map(() => 0) };
    expect(() => new VirtualController(c, i, plan, { actuated: bad })).toThrow(UnsafePlanError);
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0, detectorVehPerH: 300, actuated: a });
    for (let t = 0.5; t <= 400; t += 0.5) v.tick(t);
    expect(v.actuated).toBe(true);
    // Another demand, another split: settings whose force-offs were this plan's no longer fit it.
    const next = planFromVolumes(new Float64Array(c.detectorIds.length).map((_, d) => (d % 3 === 0 ? 200 : 30)));
    const block = encodePlanBlock(c, i, next, 7);
    expect(() => v.setActuated(actuatedPlan(c, next, coordinatedEW))).toThrow(UnsafePlanError);
    // Committed with settings the validator refuses for that plan (a max green past the phase's maximum): refused whole.
    const tooLong = encodeActuatedBlock(c, i, a, 7);
    tooLong[AB_PHASES + AP_MAX_GREEN_DS] = 2000;
    expect(commitWithSettings(v, block, tooLong)).toBe(CommitStatus.Unsafe);
    expect(v.state().lastRejection).toMatch(/do not fit this plan.*ACT|max/i);
    expect(v.state().pendingPlanId).toBe(0);
    expect(commit(v, encodePlanBlock(c, i, plan, 8), OverrideCommand.Now)).toBe(CommitStatus.OverrideIncompatible);
    // A plan committed without actuated settings runs fixed-time from its cycle zero, whatever setActuated gave.
    // (Under another id: the refused settings are still staged for plan 7.)
    expect(commit(v, encodePlanBlock(c, i, next, 9))).toBe(CommitStatus.Pending);
    for (let t = 400.5; t <= 900; t += 0.5) v.tick(t);
    expect(v.actuated).toBe(false);
    expect(v.state()).toMatchObject({ activePlanId: 9, faults: 0 });
  });

  test('a plan committed over the registers with an actuated block runs actuated on it; a later fixed-time commit takes it back', () => {
    const i = 2;
    const coordinated = actuatedPlan(c, plan, coordinatedEW);
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0, detectorVehPerH: 250 });
    for (let t = 0.5; t <= 200; t += 0.5) v.tick(t);
    expect(v.actuated).toBe(false);
    expect(commitWithSettings(v, encodePlanBlock(c, i, plan, 11), encodeActuatedBlock(c, i, coordinated, 11))).toBe(CommitStatus.Pending);
    for (let t = 200.5; t <= 1400; t += 0.5) v.tick(t);
    expect(v.state(), v.faultMessage).toMatchObject({ activePlanId: 11, faults: 0 });
    expect(v.actuated).toBe(true);
    // Coordinated: the plan's cycle is kept, and the detectors decided (gap-outs or skips happened).
    expect(v.runningCycle().cycleS).toBe(plan.cycleS[i]);
    const s = v.actuatedStats();
    expect(s.passes).toBeGreaterThan(3);
    expect(s.gapOuts + s.skips).toBeGreaterThan(0);
    // Settings that do not fit the plan (a min green below the phase's own) are refused with it.
    const tooShort = encodeActuatedBlock(c, i, coordinated, 12);
    tooShort[AB_PHASES + AP_MIN_GREEN_DS] = 10;
    expect(commitWithSettings(v, encodePlanBlock(c, i, plan, 12), tooShort)).toBe(CommitStatus.Unsafe);
    expect(v.actuated).toBe(true);
    // Fully actuated settings float the cycle; then a fixed-time commit ends actuated control.
    expect(commitWithSettings(v, encodePlanBlock(c, i, plan, 13), encodeActuatedBlock(c, i, actuatedPlan(c, plan, []), 13))).toBe(CommitStatus.Pending);
    for (let t = 1400.5; t <= 2600; t += 0.5) v.tick(t);
    expect(v.state().activePlanId).toBe(13);
    expect(v.actuated).toBe(true);
    expect(v.activeActuatedBlock()[AB_MODE]).toBe(ActuatedMode.Free);
    expect(commit(v, encodePlanBlock(c, i, plan, 14))).toBe(CommitStatus.Pending);
    for (let t = 2600.5; t <= 3600; t += 0.5) v.tick(t);
    expect(v.state(), v.faultMessage).toMatchObject({ activePlanId: 14, faults: 0 });
    expect(v.actuated).toBe(false);
    expect(v.activeActuatedBlock()[AB_MODE]).toBe(ActuatedMode.Fixed);
  });
});
