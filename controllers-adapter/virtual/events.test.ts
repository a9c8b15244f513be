/**
 * The virtual controller's event log (./events.ts): fixed time and actuated runs write
 * well-formed sequences (per phase 1 → 8 → 10 → 11 every cycle, in time order; detector 82
 * and 81 alternating; 21 → 22 → 23 for phases with a crossing), actuated yellows carry their
 * termination, a committed plan logs 131/132/133/134+ for what changed when it takes over, a
 * monitor trip logs 173, the logged edges fall exactly on the running cycle's times, and the
 * pedestrian events on the times the network's walk and crosswalks give. TSP events:
 * ./tspEvents.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { actuatedPlan } from '../../engine/timing/actuated.js';
import { EventCode, FlashStatus } from '../../engine/events/codes.js';
import { crc16ModbusRegisters, encodePlanBlock } from '../codec.js';
import { detectorRange, VirtualController } from './controller.js';
import { CommitStatus, ControllerMode, HR_COMMIT, HR_STAGE } from '../registerMap.js';
import { demoNetwork, demoPlan, planFromVolumes } from '../../test/fixtures/controllers/demo.js';
import { checkEventSequences } from '../../test/fixtures/eventSequences.js';
import { eventsToCsv, readEventsCsv } from '../../engine/events/csv.js';

const c = demoNetwork();
const plan = demoPlan();

function runUntil(v: VirtualController, untilS: number, stepS = 0.7): void {
  for (let t = v.clockS + stepS; t <= untilS; t += stepS) v.tick(t);
  v.tick(untilS);
}

describe('VirtualController event log', () => {
  test('fixed time: every phase 1 → 8 → 10 → 11 each cycle at the plan times; detectors alternate', () => {
    const i = 1;
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0 });
    const log = v.recordEvents({ epochMs: Date.UTC(2026, 0, 1) });
    runUntil(v, 1200);
    for (let k = 0; k < 30; k++) {
      v.tick(1200 + k * 3);
      v.addDetectorCounts(k % detectorRange(c, i).count, 1 + (k % 2));
    }
    v.actuate(0);
    v.tick(1300);
    log.flush(1300);
    const report = checkEventSequences(log.events);
    expect(report.problems).toEqual([]);
    expect(report.terminations).toBe(0);
    expect(report.detectorOns).toBe(46);
    const phases = c.phaseStart[i + 1]! - c.phaseStart[i]!;
    expect(report.rounds.size).toBe(phases);
    // 1200 s after power-up (red until the first cycle zero): about 1200 / cycle rounds each.
    for (const n of report.rounds.values()) expect(n).toBeGreaterThanOrEqual(Math.floor(1200 / plan.cycleS[i]!) - 2);
    // Greens start at cycle start + phase start (the controller steps to every edge exactly).
    const p = c.phaseStart[i]!;
    const phaseNumber = log.numbering.phaseNumber[p]!;
    for (let k = 0; k < log.events.length; k++) {
      if (log.events.codeAt(k) !== EventCode.PhaseBeginGreen || log.events.paramAt(k) !== phaseNumber) continue;
      const tS = (log.events.timestampMsAt(k) - Date.UTC(2026, 0, 1)) / 1000;
      const pos = (((tS - plan.offsetS[i]! - plan.phaseStartS[p]!) % plan.cycleS[i]!) + plan.cycleS[i]!) % plan.cycleS[i]!;
      expect(Math.min(pos, plan.cycleS[i]! - pos)).toBeLessThan(0.051);
    }
  });

  test('actuated: well-formed, with a termination before every yellow of a pass', () => {
    const a = actuatedPlan(c, plan, []);
    const i = 2;
    const rates = Array.from({ length: detectorRange(c, i).count }, (_, d) => 120 + 200 * (d % 3));
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0, detectorVehPerH: rates, actuated: a });
    const log = v.recordEvents();
    runUntil(v, 1800, 1.3);
    log.flush(1800);
    const report = checkEventSequences(log.events);
    expect(report.problems).toEqual([]);
    const s = v.actuatedStats();
    expect(report.terminations).toBeGreaterThan(20);
    expect(report.terminations).toBeLessThanOrEqual(s.gapOuts + s.maxOuts + s.forceOffs);
    expect(report.detectorOns).toBeGreaterThan(100);
  });

  test('a plan committed and taken at cycle zero logs pattern, cycle, offset and split changes', () => {
    const i = 1;
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0 });
    const log = v.recordEvents();
    runUntil(v, 30);
    const next = planFromVolumes(new Float64Array(c.detectorIds.length).fill(40));
    const block = encodePlanBlock(c, i, next, 7);
    v.writeHolding(HR_STAGE, [...block, crc16ModbusRegisters(block)]);
    v.writeHolding(HR_COMMIT, [1]);
    expect(v.readHolding(HR_COMMIT, 1)[0]).toBe(CommitStatus.Pending);
    const { startS, cycleS } = v.runningCycle();
    runUntil(v, startS + cycleS + 1);
    const coord = log.events.records().filter((r) => r.eventCode >= 131 && r.eventCode <= 149);
    expect(coord[0]).toMatchObject({ eventCode: EventCode.CoordPatternChange, eventParam: 7, timestampMs: Math.round((startS + cycleS) * 10) * 100 });
    if (Math.round(next.cycleS[i]!) !== Math.round(plan.cycleS[i]!)) expect(coord.some((r) => r.eventCode === 132 && r.eventParam === Math.round(next.cycleS[i]!))).toBe(true);
    if (Math.round(next.offsetS[i]!) !== Math.round(plan.offsetS[i]!)) expect(coord.some((r) => r.eventCode === 133 && r.eventParam === Math.round(next.offsetS[i]!))).toBe(true);
    // Every split that changed is logged under its phase number's code, none that did not.
    const splits = coord.filter((r) => r.eventCode >= 134);
    let changed = 0;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      const split = (b: typeof plan) => Math.round(b.phaseGreenS[p]! + b.phaseYellowS[p]! + b.phaseAllRedS[p]!);
      const hit = splits.find((r) => r.eventCode === 133 + log.numbering.phaseNumber[p]!);
      if (split(next) !== split(plan)) {
        changed++;
        expect(hit?.eventParam).toBe(split(next));
      } else expect(hit).toBeUndefined();
    }
    expect(splits.length).toBe(changed);
    expect(checkEventSequences(log.events).problems).toEqual([]);
  });

  test('a conflict monitor trip logs 173 fault-monitor flash, a reset 173 not flashing', () => {
    const v = new VirtualController(c, 0, plan, { commLossTimeoutS: 0 });
    const log = v.recordEvents();
    runUntil(v, 10);
    const m = 31 - Math.clz32(v.movementMask & -v.movementMask);
    const other = v.conflictsOf(m);
    v.forceOutputs((1 << m) | (other & -other), 0);
    expect(v.state().mode).toBe(ControllerMode.Flash);
    runUntil(v, 50);
    v.resetFault();
    runUntil(v, 300);
    const flash = log.events.records().filter((r) => r.eventCode === EventCode.UnitFlashStatus);
    expect(flash.map((r) => [r.eventParam, r.timestampMs])).toEqual([
      [FlashStatus.FaultMonitor, 10_000],
      [FlashStatus.NotFlash, 50_000],
    ]);
    // After the reset the phases run again, from the first cycle zero.
    const after = log.events.records().filter((r) => r.timestampMs > 50_000 && r.eventCode === EventCode.PhaseBeginGreen);
    expect(after.length).toBeGreaterThan(2);
  });

  test('pedestrian phases: walk with the green, clearance after the walk, don\'t walk at walk + crossing time, before the yellow; the CSV round-trips them', () => {
    const i = 0;
    const v = new VirtualController(c, i, plan, { commLossTimeoutS: 0 });
    const epochMs = Date.UTC(2026, 0, 1);
    const log = v.recordEvents({ epochMs });
    const endS = 620;
    runUntil(v, endS);
    log.flush(endS);
    expect(checkEventSequences(log.events).problems).toEqual([]);
    // From the network file: walk, the longest crosswalk the phase serves at the network's
    // walking speed (never above the 1.2 m/s floor), rounded up to the 0.1 s step.
    const ix = c.network.intersections[i]!;
    const defs = ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases;
    const speed = Math.min(c.network.defaults.pedestrianSpeedMps, 1.2);
    const C = plan.cycleS[i]!;
    let phasesWithCrossing = 0;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      const def = defs.find((d) => d.id === c.phaseIds[p])!;
      const n = log.numbering.phaseNumber[p]!;
      const logged = log.events.records().filter((r) => r.eventCode >= 21 && r.eventCode <= 23 && r.eventParam === n);
      if (!def.pedestrian) {
        expect(logged).toEqual([]);
        continue;
      }
      phasesWithCrossing++;
      const walkS = Math.max(def.pedestrian.walkS, 4);
      const longestM = Math.max(...def.pedestrian.crosswalks.map((leg) => ix.crosswalks.find((x) => x.leg === leg)!.lengthM));
      const dontWalkS = Math.ceil((walkS + longestM / speed) * 10 - 1e-9) / 10;
      // Never past the yellow: the plan gives the phase at least that much green.
      expect(dontWalkS).toBeLessThanOrEqual(plan.phaseGreenS[p]! + 1e-9);
      // Every green of the plan from the first cycle zero after power-up (clock 0; all red
      // until then), wholly within the run.
      const expected: [number, number][] = [];
      const firstZeroS = plan.offsetS[i]! + (Math.floor((0 - plan.offsetS[i]!) / C) + 1) * C;
      for (let g = firstZeroS + plan.phaseStartS[p]!; g + dontWalkS <= endS; g += C) expected.push([21, g], [22, g + walkS], [23, g + dontWalkS]);
      expect(expected.length).toBeGreaterThanOrEqual(6);
      const tenth = (s: number) => epochMs + Math.round(s * 10) * 100;
      expect(logged.slice(0, expected.length).map((r) => [r.eventCode, r.timestampMs])).toEqual(expected.map(([code, s]) => [code, tenth(s)]));
    }
    expect(phasesWithCrossing).toBeGreaterThanOrEqual(2);
    // The ATSPM CSV writes and reads every record back unchanged, pedestrian events included.
    const back = readEventsCsv(eventsToCsv(log.events));
    expect(back.records()).toEqual(log.events.records());
  });
});
