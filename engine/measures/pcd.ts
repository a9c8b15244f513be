/**
 * The Purdue coordination diagram's data and the measures ATSPM reads off it, for one
 * phase (optionally one approach of it):
 *  - per cycle (./cycles.ts phaseCycles: red → green → yellow → red) its green and yellow
 *    starts and every arrival with its time in the cycle (from the red start); an arrival is
 *    a detector-on (82) of the phase's arrival detectors moved to the stop line
 *    (./context.ts); it is on red before the green start, on green before the yellow start,
 *    else on yellow;
 *  - arrivals on green: %AoG = arrivals on green / volume (arrivals in complete cycles);
 *  - platoon ratio = %AoG / %green, %green = Σ green (green start → yellow start) / Σ cycle;
 *  - approach delay: each arrival on red waits until the green start; the average is the
 *    total over the volume (every arrival), s/veh.
 * Source: UDOT ATSPM (Application/Business/PurdueCoordinationDiagram, ApproachDelay) and the
 * Purdue definitions; see docs/measures.md. Called by ./report.ts, the PCD SVG and the tests.
 */
import type { ApproachId } from '../network/schema.js';
import { arrivalDetectors, arrivalTimesMs, intersectionOfPhaseIndex, type MeasureContext } from './context.js';
import { phaseCycles, type SignalCycle } from './cycles.js';

export type ArrivalOn = 'red' | 'green' | 'yellow';

export interface PcdArrival {
  /** At the stop line, ms. */
  readonly timestampMs: number;
  /** From the cycle's red start, s. */
  readonly inCycleS: number;
  readonly on: ArrivalOn;
}

export interface PcdCycle extends SignalCycle {
  readonly arrivals: readonly PcdArrival[];
}

export interface PcdData {
  readonly intersectionId: string;
  readonly phaseId: string;
  readonly phaseNumber: number;
  readonly approach?: ApproachId;
  /** Detector channels whose on-events count as arrivals. */
  readonly detectorChannels: readonly number[];
  readonly cycles: readonly PcdCycle[];
}

/** `cycles` with the stop-line arrivals `arrivalsMs` (sorted) that fall in each, and whether on red, green or yellow. */
export function withArrivals(cycles: readonly SignalCycle[], arrivalsMs: Float64Array): PcdCycle[] {
  let a = 0;
  return cycles.map((cy) => {
    while (a < arrivalsMs.length && arrivalsMs[a]! < cy.startMs) a++;
    const list: PcdArrival[] = [];
    for (; a < arrivalsMs.length && arrivalsMs[a]! < cy.endMs; a++) {
      const t = arrivalsMs[a]!;
      list.push({ timestampMs: t, inCycleS: (t - cy.startMs) / 1000, on: t < cy.greenStartMs ? 'red' : t < cy.yellowStartMs ? 'green' : 'yellow' });
    }
    return { ...cy, arrivals: list };
  });
}

/** PCD data of global phase p (all its approaches, or `approach` only). */
export function purdueCoordinationDiagram(ctx: MeasureContext, p: number, approach?: ApproachId): PcdData {
  const { c } = ctx;
  const i = intersectionOfPhaseIndex(c, p);
  const loc = ctx.location[i]!;
  const phaseNumber = ctx.numbering.phaseNumber[p]!;
  const set = arrivalDetectors(ctx, p, approach);
  const cycles = loc < 0 ? [] : phaseCycles(ctx.events, loc, phaseNumber);
  const out = withArrivals(cycles, arrivalTimesMs(ctx, loc, set));
  return { intersectionId: c.intersectionIds[i]!, phaseId: c.phaseIds[p]!, phaseNumber, ...(approach ? { approach } : {}), detectorChannels: set.channels, cycles: out };
}

export interface ArrivalsOnGreen {
  readonly cycles: number;
  readonly volume: number;
  readonly arrivalsOnGreen: number;
  readonly arrivalsOnYellow: number;
  readonly arrivalsOnRed: number;
  /** arrivals on green / volume, %; NaN without arrivals. */
  readonly percentArrivalsOnGreen: number;
  readonly greenTimeS: number;
  readonly totalTimeS: number;
  /** green time / total time, %. */
  readonly percentGreen: number;
  /** %AoG / %green; NaN without arrivals or green. */
  readonly platoonRatio: number;
}

export function arrivalsOnGreen(pcd: PcdData): ArrivalsOnGreen {
  let volume = 0;
  let green = 0;
  let yellow = 0;
  let greenMs = 0;
  let totalMs = 0;
  for (const cy of pcd.cycles) {
    greenMs += cy.yellowStartMs - cy.greenStartMs;
    totalMs += cy.endMs - cy.startMs;
    for (const a of cy.arrivals) {
      volume++;
      if (a.on === 'green') green++;
      else if (a.on === 'yellow') yellow++;
    }
  }
  const percentArrivalsOnGreen = volume > 0 ? (100 * green) / volume : Number.NaN;
  const percentGreen = totalMs > 0 ? (100 * greenMs) / totalMs : Number.NaN;
  return {
    cycles: pcd.cycles.length,
    volume,
    arrivalsOnGreen: green,
    arrivalsOnYellow: yellow,
    arrivalsOnRed: volume - green - yellow,
    percentArrivalsOnGreen,
    greenTimeS: greenMs / 1000,
    totalTimeS: totalMs / 1000,
    percentGreen,
    platoonRatio: percentGreen > 0 ? percentArrivalsOnGreen / percentGreen : Number.NaN,
  };
}

export interface ApproachDelay {
  readonly volume: number;
  readonly arrivalsOnRed: number;
  /** Σ (green start − arrival) over arrivals on red, s. */
  readonly totalDelayS: number;
  /** totalDelayS / volume, s/veh; NaN without arrivals. */
  readonly averageDelayS: number;
}

export function approachDelay(pcd: PcdData): ApproachDelay {
  let volume = 0;
  let onRed = 0;
  let delayMs = 0;
  for (const cy of pcd.cycles) {
    for (const a of cy.arrivals) {
      volume++;
      if (a.on !== 'red') continue;
      onRed++;
      delayMs += cy.greenStartMs - a.timestampMs;
    }
  }
  return { volume, arrivalsOnRed: onRed, totalDelayS: delayMs / 1000, averageDelayS: volume > 0 ? delayMs / 1000 / volume : Number.NaN };
}
