/**
 * Summary of a SUMO `--tripinfo-output` file: vehicles that finished their
 * trip, their mean time loss (time lost against driving at the allowed speed:
 * waiting at signals, queueing, slowing down) and mean trip duration. With
 * `--tripinfo-output.write-unfinished` the vehicles still on their way at the
 * end are listed too (arrival -1) and counted in `unfinished`.
 */
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import { children, numAttr, parseSumoXml } from './xml.js';

export interface TripinfoSummary {
  readonly vehicles: number;
  readonly meanTimeLossS: number;
  readonly meanDurationS: number;
  /** Mean time spent standing (speed < 0.1 m/s). */
  readonly meanWaitingS: number;
  /** Listed vehicles that had not arrived when the run ended (arrival -1; only with write-unfinished). */
  readonly unfinished: number;
}

export function readTripinfo(xmlText: string): TripinfoSummary {
  const doc = parseSumoXml(xmlText, 'SUMO tripinfo output', ['tripinfo']);
  if (doc['tripinfos'] === undefined) throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO tripinfo output: no <tripinfos> root');
  let n = 0;
  let loss = 0;
  let duration = 0;
  let waiting = 0;
  let unfinished = 0;
  for (const t of children(doc['tripinfos'], 'tripinfo')) {
    const tl = numAttr(t, 'timeLoss');
    const d = numAttr(t, 'duration');
    if (tl === undefined || d === undefined) continue;
    n++;
    loss += tl;
    duration += d;
    waiting += numAttr(t, 'waitingTime') ?? 0;
    if ((numAttr(t, 'arrival') ?? 0) < 0) unfinished++;
  }
  return { vehicles: n, meanTimeLossS: n > 0 ? loss / n : 0, meanDurationS: n > 0 ? duration / n : 0, meanWaitingS: n > 0 ? waiting / n : 0, unfinished };
}
