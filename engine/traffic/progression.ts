/**
 * Share of each link's through traffic arriving on green, from the
 * controllers' high-resolution event log (ATSPM's arrivals on green,
 * engine/measures/pcd.ts): the input of the HCM progression factor that
 * linkState.ts puts on the uniform delay. Optionally also the through
 * traffic's delay by input-output (deterministic queueing) analysis of the same
 * arrivals (Sharma, Bullock & Bonneson 2007, "Input-output and hybrid
 * techniques for real-time prediction of delay and maximum queue length at
 * signalized intersections", TRR 2035): the advance loops' arrivals, moved to
 * the stop line at free-flow speed, join their lane's FIFO queue served at the
 * lane's saturation flow during each cycle's effective green (green start +
 * start-up lost time to yellow start + extension), the queue carried from cycle
 * to cycle; or, on request (`Discharge`), one queue of the link's lanes served
 * at the crossings their stop-line loops count (their hybrid, `hybridDelayS`).
 * A delay is departure minus arrival, the link's the mean over its arrivals.
 * Unlike the HCM formula it sees where
 * in the red the platoon arrives, not only whether on green, and the queue a
 * cycle leaves. A vehicle held at all is charged HCM's deceleration-acceleration
 * correction on top of its queue time (stopCorrectionS). Arrivals held upstream
 * of the advance loop (a queue standing over the loop delays the loop's own
 * on-events) are not seen as such; a first-order term adds their wait from how
 * long cars stand on the loop (addHeldUpstreamDelayS). Only links with
 * advance loops get a share: a stop-line loop sees departures, not arrivals,
 * and would call every vehicle an arrival on green. Called per interval by
 * whoever has the events: the validation test records them from the simulator,
 * the service reads the ones it collected from the controllers
 * (service/trafficState.ts `loadProgression`).
 */
import { withArrivals, type PcdCycle } from '../measures/pcd.js';
import { phaseCycles, type SignalCycle } from '../measures/cycles.js';
import { arrivalDetectors, type DetectorSet, type MeasureContext } from '../measures/context.js';
import { APPROACH_IDS } from '../network/schema.js';
import { movementIndex, THROUGH_TURN } from '../network/geometry.js';
import type { TrafficLinks } from './links.js';
import { DetectorKind } from '../network/compile.js';

/**
 * Deceleration-acceleration time a stopping vehicle loses beyond its time in the queue, s, by
 * free-flow speed: HCM 2000 ch. 16 appendix A exhibit A16-2 (the field method's correction
 * factor, its column for queues of up to 7 vehicles per lane): +5 s up to 60 km/h, +7 s up to
 * 71 km/h, +9 s above.
 */
export function stopCorrectionS(freeFlowKph: number): number {
  return freeFlowKph <= 60 ? 5 : freeFlowKph <= 71 ? 7 : 9;
}

/**
 * How the input-output delay serves the queue: 'modelled' (the default) at the lanes' saturation
 * flow in the effective green; 'measured' at the crossings the lanes' stop-line loops counted,
 * where every lane with an arrival loop has one (`hybridDelayS`), else modelled. Measured on
 * 7 December (docs/traffic.md "Served at the stop-line loops' crossings"): over 15-minute
 * windows 'measured' brings the one arterial the modelled discharge misses (a queue that leaves
 * slower than the saturation flow) within 15 % and changes nothing else, but over the service's
 * 5-minute live windows it is 0.3–0.9 points of mean error worse on each of four seeds, so it is
 * not the default.
 */
export type Discharge = 'measured' | 'modelled';

/** Fewer arrivals than this in the window leave the share unknown (NaN). */
export const MIN_ARRIVALS = 20;

/**
 * Per link, arrivals on green / arrivals over the cycles that start in [fromMs, toMs), NaN
 * where unknown. `out` is written and returned. With `delayOut`, also the mean input-output
 * delay of the through arrivals in those cycles, s (NaN where the share is unknown). With
 * `toIntersection` ≥ 0 only the links into that intersection are computed (and written): a
 * caller with one intersection's log at a time (the service) keeps each scan to that log.
 * `discharge`: see `Discharge`.
 */
export function arrivalOnGreenShares(
  ctx: MeasureContext,
  links: TrafficLinks,
  fromMs: number,
  toMs: number,
  out = new Float64Array(links.count),
  delayOut?: Float64Array,
  toIntersection = -1,
  discharge: Discharge = 'modelled',
): Float64Array {
  const c = ctx.c;
  for (let k = 0; k < links.count; k++) {
    if (toIntersection >= 0 && links.toIntersection[k] !== toIntersection) continue;
    out[k] = Number.NaN;
    if (delayOut) delayOut[k] = Number.NaN;
  }
  // (location, channel) of each link's arrival loops → link, for the held-upstream term.
  const held = new Map<number, number>();
  for (let k = 0; k < links.count; k++) {
    if (toIntersection >= 0 && links.toIntersection[k] !== toIntersection) continue;
    if (links.advStart[k + 1]! === links.advStart[k]!) continue;
    const bit = 1 << movementIndex(links.approach[k]!, THROUGH_TURN);
    let phase = -1;
    for (let q = links.laneStart[k]!; q < links.laneStart[k + 1]! && phase < 0; q++) {
      const l = links.lanes[q]!;
      if ((c.laneMovementMask[l]! & bit) !== 0) phase = c.lanePhase[l]!;
    }
    if (phase < 0) continue;
    // The Purdue coordination diagram's cycles and arrivals (engine/measures/pcd.ts), built here
    // from the arrivals per loop, which the input-output delay below takes lane by lane: one scan
    // of the log for both.
    const loc = ctx.location[links.toIntersection[k]!]!;
    const loops = arrivalDetectors(ctx, phase, APPROACH_IDS[links.approach[k]!]);
    const byLoop = arrivalTimesByChannelMs(ctx, loc, loops);
    const signal = loc < 0 ? [] : phaseCycles(ctx.events, loc, ctx.numbering.phaseNumber[phase]!);
    const pcd = { cycles: withArrivals(signal, mergeSorted([...byLoop.values()])) };
    let n = 0;
    let green = 0;
    for (const cy of pcd.cycles) {
      if (cy.startMs < fromMs || cy.startMs >= toMs) continue;
      for (const a of cy.arrivals) {
        n++;
        if (a.on === 'green') green++;
      }
    }
    if (n >= MIN_ARRIVALS) out[k] = green / n;
    if (!delayOut || !(n >= MIN_ARRIVALS)) continue;
    // Input-output queues over the whole log (the queue a cycle leaves is carried), delays summed
    // for the arrivals in the cycles of the window, lane by lane: each advance loop's arrivals
    // through its own lane's queue at the lane's saturation flow (one pooled queue over the lanes
    // would take them as perfectly balanced, and the busier lane's queue is the longer one).
    // Where the lanes' stop-line loops count the departures, the queue is served when they say
    // (hybridDelayS); else at the lanes' saturation flow.
    const departures = discharge === 'measured' ? stopLineDepartures(ctx, links.toIntersection[k]!, loc, phase, APPROACH_IDS[links.approach[k]!]!, loops) : undefined;
    const stopS = stopCorrectionS(links.freeFlowKph[k]!);
    const hybrid = departures !== undefined ? hybridDelayS(signal, mergeSorted([...byLoop.values()]), departures, stopS, fromMs, toMs) : Number.NaN;
    const io = Number.isNaN(hybrid) ? laneByLaneDelayS(ctx, links.toIntersection[k]!, signal, loops, byLoop, stopS, fromMs, toMs) : hybrid;
    delayOut[k] = io;
    if (Number.isFinite(io) && loc >= 0) for (const ch of loops.channels) held.set(loc * CHANNEL_SPAN + ch, k);
  }
  if (delayOut && held.size > 0) addHeldUpstreamDelayS(ctx, held, fromMs, toMs, delayOut);
  return out;
}

/**
 * The arrival-weighted mean input-output delay over the loops of `set` at intersection i, each
 * loop's arrivals (`byChannel`: its on-events moved to the stop line) queued through its own lane
 * at the lane's saturation flow in the phase's `cycles`; NaN without any.
 */
function laneByLaneDelayS(ctx: MeasureContext, i: number, cycles: readonly SignalCycle[], set: DetectorSet, byChannel: ReadonlyMap<number, Float64Array>, stopS: number, fromMs: number, toMs: number): number {
  const c = ctx.c;
  const start = ctx.numbering.detectorStart[i]!;
  const end = ctx.numbering.detectorStart[i + 1]!;
  let sum = 0;
  let n = 0;
  for (const ch of set.channels) {
    let lane = -1;
    for (let d = start; d < end && lane < 0; d++) if (ctx.numbering.detectorChannel[d] === ch) lane = c.detectorLane[d]!;
    // The network's saturation flow: with the one measured from the stop-line loops' events the
    // arterials came out lower than the trajectories (mean |error| 4.1 → 4.4 %, 7 December).
    const sat = lane >= 0 ? c.laneSatFlowVehPerH[lane]! : 0;
    const arrivals = byChannel.get(ch);
    if (!(sat > 0) || arrivals === undefined) continue;
    const r = inputOutputDelaySum(withArrivals(cycles, arrivals), sat, c.startUpLostTimeS, c.extensionOfEffectiveGreenS, stopS, fromMs, toMs);
    sum += r.sumMs;
    n += r.count;
  }
  return n > 0 ? sum / n / 1000 : Number.NaN;
}

/**
 * The stop-line crossings (ms, sorted) of the lanes of `approach` that phase p serves, when every
 * lane with an arrival loop in `arrivals` has a stop-line loop too; undefined otherwise.
 */
function stopLineDepartures(ctx: MeasureContext, i: number, loc: number, p: number, approach: string, arrivals: DetectorSet): Float64Array | undefined {
  const { c, numbering } = ctx;
  if (loc < 0) return undefined;
  const start = numbering.detectorStart[i]!;
  const end = numbering.detectorStart[i + 1]!;
  const channels: number[] = [];
  const travel = new Float64Array(end - start + 1).fill(Number.NaN);
  const covered = new Set<number>();
  for (let d = start; d < end; d++) {
    if (c.detectorKind[d] !== DetectorKind.StopLine || c.lanePhase[c.detectorLane[d]!] !== p || ctx.detectorApproach[d] !== approach) continue;
    const ch = numbering.detectorChannel[d]!;
    channels.push(ch);
    travel[ch] = 0;
    covered.add(c.detectorLane[d]!);
  }
  const arrivalChannels = new Set(arrivals.channels);
  for (let d = start; d < end; d++) if (arrivalChannels.has(numbering.detectorChannel[d]!) && !covered.has(c.detectorLane[d]!)) return undefined;
  if (channels.length === 0) return undefined;
  // Detector off (81), not on: the first car of a queue stands on the stop-line loop through the
  // red, so its on-event is its arrival; it leaves the loop as it crosses the line.
  const byChannel = arrivalTimesByChannelMs(ctx, loc, { channels, travelMsByChannel: travel }, 81);
  return mergeSorted([...byChannel.values()]);
}

/** A stop-line crossing this much before a car's free-flow arrival still counts as its own (loops, speeds), ms. */
const MATCH_EARLY_MS = 2000;
/** A car that crossed this much later than its free-flow arrival was held (and is charged the stop's slowing and speeding up), ms. */
const HELD_MS = 2000;
/** The lanes stood empty at the end of a green when nobody crossed in its last this many ms. */
const IDLE_MS = 4000;
/** Crossings this long after the red began still count for that green (a car entering on yellow), ms. */
const RED_GRACE_MS = 2000;

/**
 * Mean delay, s, of the arrivals (`arrivalsMs`: arrival loops' on-events moved to the stop line
 * at free-flow speed, all lanes of the link pooled) in the cycles starting in [fromMs, toMs),
 * each served FIFO at a crossing the stop-line loops actually counted (`departuresMs`, the same
 * lanes): the hybrid of Sharma, Bullock & Bonneson (2007), where the detectors at the stop line
 * replace the modelled saturation discharge. It sees a queue that leaves slower than the
 * saturation flow (a lane that has to merge downstream, a blocked exit) as it is. Pooled over the
 * lanes, because the delays' sum is Σ departures − Σ arrivals whoever pairs with whom, and drivers
 * changing lanes between the loops keep to the pool. A crossing with no arrival waiting (a car
 * the arrival loops missed) is skipped; when the loops show the lanes empty at the end of a green,
 * arrivals still waiting from before then are dropped (cars they missed the other way), so a
 * counting error does not carry from cycle to cycle. A car held more than HELD_MS is charged
 * `stopS` on top, as the modelled version charges every held car: the advance loop is 60–120 m
 * before the line, and a car that stops starts slowing before it and, leaving the upstream
 * signal, gets up to speed on the link, which its crossings do not see (without it the lightly
 * delayed arterial links came out 12–15 % short of the trajectories). NaN without any.
 */
export function hybridDelayS(cycles: readonly SignalCycle[], arrivalsMs: Float64Array, departuresMs: Float64Array, stopS: number, fromMs: number, toMs: number): number {
  const stopMs = stopS * 1000;
  let sum = 0;
  let m = 0;
  const queue: number[] = [];
  let head = 0;
  let ai = 0;
  let di = 0;
  // Which cycle an arrival falls in decides whether it is counted (as the modelled version does).
  let cj = 0;
  const counted = (a: number): boolean => {
    while (cj + 1 < cycles.length && cycles[cj + 1]!.startMs <= a) cj++;
    const cy = cycles[cj];
    return cy !== undefined && cy.startMs <= a && cy.startMs >= fromMs && cy.startMs < toMs;
  };
  for (const cy of cycles) {
    if (cy.startMs >= toMs) break;
    const greenEnd = cy.endMs + RED_GRACE_MS;
    let lastDep = Number.NEGATIVE_INFINITY;
    // Every crossing is matched, in the green or not (the log may begin inside a green).
    for (; di < departuresMs.length && departuresMs[di]! < greenEnd; di++) {
      const d = departuresMs[di]!;
      while (ai < arrivalsMs.length && arrivalsMs[ai]! <= d + MATCH_EARLY_MS) queue.push(ai++);
      if (d >= cy.greenStartMs) lastDep = d;
      if (head >= queue.length) continue;
      const a = arrivalsMs[queue[head++]!]!;
      if (counted(a)) {
        sum += d - a > HELD_MS ? d - a + stopMs : Math.max(0, d - a);
        m++;
      }
    }
    // Nobody crossed in the green's last IDLE_MS: the lanes stood empty, so whoever the arrival
    // loops put at the line before then (and not just before the yellow) has gone uncounted.
    if (cy.yellowStartMs - lastDep >= IDLE_MS) {
      const cut = cy.yellowStartMs - MATCH_EARLY_MS;
      while (ai < arrivalsMs.length && arrivalsMs[ai]! < cut) queue.push(ai++);
      while (head < queue.length && arrivalsMs[queue[head]!]! < cut) head++;
    }
    if (head > 1024) {
      queue.splice(0, head);
      head = 0;
    }
  }
  return m > 0 ? sum / m / 1000 : Number.NaN;
}

/** One sorted array of several sorted ones. */
function mergeSorted(parts: readonly Float64Array[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.sort();
}

/** As `arrivalTimesMs` (context.ts), per channel of `set`, in one pass over the log. */
function arrivalTimesByChannelMs(ctx: MeasureContext, loc: number, set: DetectorSet, code = 82): Map<number, Float64Array> {
  const ev = ctx.events;
  const lists = new Map<number, number[]>();
  if (loc < 0) return new Map();
  for (let k = 0; k < ev.length; k++) {
    if (ev.locationAt(k) !== loc || ev.codeAt(k) !== code) continue;
    const ch = ev.paramAt(k);
    const travel = set.travelMsByChannel[ch];
    if (travel === undefined || Number.isNaN(travel)) continue;
    const list = lists.get(ch);
    if (list === undefined) lists.set(ch, [ev.timestampMsAt(k) + travel]);
    else list.push(ev.timestampMsAt(k) + travel);
  }
  return new Map([...lists].map(([ch, xs]) => [ch, Float64Array.from(xs).sort()]));
}

const STAND_MS = (7 / (8 / 3.6)) * 1000;
const SCAN_MARGIN_MS = 300_000;
const CHANNEL_SPAN = 1 << 16;

/**
 * A car covering an advance loop for longer than STAND_MS stands (or crawls below HCM's
 * queued speed, 5 mi/h ≈ 8 km/h, over a 7 m effective length): the vehicles arriving behind it
 * meanwhile wait upstream of the loop, and their on-events come only when they reach it, so
 * the input-output analysis misses that wait. Over one such standing time B at a loop whose
 * arrival rate over the window is λ, about λB vehicles arrive, waiting B/2 on average: λB²/2
 * more delay. Adds that, per arrival in [fromMs, toMs), to `delayOut` of each link in `held`
 * ((location · CHANNEL_SPAN + channel) → link), in one pass over the window's events (plus a
 * margin before it: a longer standing time is cut to the part after the margin's start).
 */
function addHeldUpstreamDelayS(ctx: MeasureContext, held: Map<number, number>, fromMs: number, toMs: number, delayOut: Float64Array): void {
  const ev = ctx.events;
  if (!(toMs > fromMs)) return;
  const slot = new Map<number, number>();
  for (const key of held.keys()) slot.set(key, slot.size);
  const n = slot.size;
  const onSince = new Float64Array(n).fill(Number.NaN);
  const count = new Float64Array(n);
  const sumB2 = new Float64Array(n);
  // The log is in time order (measureContext).
  const startMs = fromMs - SCAN_MARGIN_MS;
  let lo = 0;
  let hi = ev.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ev.timestampMsAt(mid) < startMs) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo; k < ev.length; k++) {
    const t = ev.timestampMsAt(k);
    if (t >= toMs) break;
    const code = ev.codeAt(k);
    if (code !== 81 && code !== 82) continue;
    const s = slot.get(ev.locationAt(k) * CHANNEL_SPAN + ev.paramAt(k));
    if (s === undefined) continue;
    if (code === 82) {
      if (Number.isNaN(onSince[s]!)) onSince[s] = t;
      if (t >= fromMs) count[s] = count[s]! + 1;
    } else {
      const b = t - (Number.isNaN(onSince[s]!) ? startMs : onSince[s]!);
      if (t >= fromMs && b > STAND_MS) sumB2[s] = sumB2[s]! + b * b;
      onSince[s] = Number.NaN;
    }
  }
  // Per link held (a few), not per link of the network: a per-intersection call stays small.
  const extraMs = new Map<number, number>();
  const arrivals = new Map<number, number>();
  for (const [key, s] of slot) {
    const k = held.get(key)!;
    arrivals.set(k, (arrivals.get(k) ?? 0) + count[s]!);
    extraMs.set(k, (extraMs.get(k) ?? 0) + ((count[s]! / (toMs - fromMs)) * sumB2[s]!) / 2);
  }
  for (const [k, n] of arrivals) if (n > 0) delayOut[k] = delayOut[k]! + extraMs.get(k)! / n / 1000;
}

/**
 * Mean delay, s, of the arrivals in the cycles starting in [fromMs, toMs) through one FIFO
 * queue served at `satVehPerH` during each cycle's effective green (green start + `lostS` to
 * yellow start + `extensionS`), the queue carried from the first cycle on; a vehicle held at
 * all is charged `stopS` more (deceleration and acceleration). Arrivals with no effective
 * green after them in `cycles` are left out (their delay is not known yet). NaN without any.
 */
export function inputOutputDelayS(cycles: readonly PcdCycle[], satVehPerH: number, lostS: number, extensionS: number, stopS: number, fromMs: number, toMs: number): number {
  const r = inputOutputDelaySum(cycles, satVehPerH, lostS, extensionS, stopS, fromMs, toMs);
  return r.count > 0 ? r.sumMs / r.count / 1000 : Number.NaN;
}

/** `inputOutputDelayS` as the sum of the delays (ms) and the arrivals it is over. */
function inputOutputDelaySum(cycles: readonly PcdCycle[], satVehPerH: number, lostS: number, extensionS: number, stopS: number, fromMs: number, toMs: number): { sumMs: number; count: number } {
  const headwayMs = 3.6e6 / satVehPerH;
  const lostMs = lostS * 1000;
  const extMs = extensionS * 1000;
  const stopMs = stopS * 1000;
  let free = Number.NEGATIVE_INFINITY;
  let g = 0;
  let sum = 0;
  let m = 0;
  for (let j = 0; j < cycles.length; j++) {
    const cy = cycles[j]!;
    if (cy.startMs >= toMs) break;
    const inWindow = cy.startMs >= fromMs;
    for (const a of cy.arrivals) {
      let t = Math.max(a.timestampMs, free);
      // The first effective green that ends after t (cycles are in time order, t never falls).
      if (g < j) g = j;
      let served = false;
      for (; g < cycles.length; g++) {
        const gy = cycles[g]!;
        const g1 = gy.yellowStartMs + extMs;
        if (t < g1) {
          t = Math.max(t, gy.greenStartMs + lostMs);
          served = true;
          break;
        }
      }
      if (!served) return { sumMs: sum, count: m };
      free = t + headwayMs;
      if (inWindow) {
        sum += t > a.timestampMs ? t - a.timestampMs + stopMs : 0;
        m++;
      }
    }
  }
  return { sumMs: sum, count: m };
}
