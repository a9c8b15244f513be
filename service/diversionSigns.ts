/**
 * The diversion signs' messages for the sign pusher (./signPusher.ts
 * `SignPusher.forSource`): each decision point's guidance
 * (engine/traffic/diversion.ts: every route's travel time, or 前方拥堵 on the
 * main route and 请绕行 on the alternative, with hysteresis) in the guidance
 * sign register block (docs/modbus-register-map.md "Parking guidance signs", "Diversion signs": kinds 4
 * travel time, 5 congestion ahead, 6 use this route, 2 "—", the number in whole
 * minutes, one line per route in the decision point's order, the route's
 * arrow as the direction). Whoever holds the link travel times builds it:
 * nothing in `serve` does yet (the live link state is being wired into the
 * TrafficStateService separately); the test drives it with a real virtual sign.
 *
 * Sign state: normal when every route's time is known, degraded when some is
 * not, dark when none is.
 */
import { SIGN_DIRECTION_CODE, SIGN_STATE_CODE } from '../controllers-adapter/signBlock.js';
import { OptionError } from '../engine/errors.js';
import { DIVERSION_LINE_CODE, type DiversionGuide, type DiversionMessage } from '../engine/traffic/diversion.js';
import type { SignShow, SignSource } from './signPusher.js';

/**
 * A sign source over `guide`, asked each round: `travelTimeS()` gives the links' travel times
 * (s, indexed as the guide's link index; NaN = unknown), or undefined when there are none yet
 * (every line then shows "—"). `linkCount` sizes that all-unknown array.
 */
export function diversionSignSource(guide: DiversionGuide, linkCount: number, travelTimeS: () => ArrayLike<number> | undefined): SignSource & { last(): readonly DiversionMessage[] } {
  const signIds = guide.signIds;
  const seen = new Set<string>();
  signIds.forEach((id, k) => {
    if (seen.has(id)) throw new OptionError(`decisionPoints[${k}].signId`, `"${id}" already shows another decision point's guidance`);
    seen.add(id);
  });
  const unknown = new Float64Array(linkCount).fill(Number.NaN);
  let last: readonly DiversionMessage[] = [];
  return {
    signIds,
    last: () => last,
    messages(nowS: number): SignShow[] {
      last = guide.update(nowS, travelTimeS() ?? unknown);
      return last.map(show);
    },
  };
}

function show(m: DiversionMessage): SignShow {
  const known = m.lines.filter((l) => l.kind !== 'unknown').length;
  const state = known === m.lines.length ? 'normal' : known === 0 ? 'dark' : 'degraded';
  return {
    key: `${state}|${m.lines.map((l) => `${l.kind}:${l.kind === 'unknown' ? '' : l.minutes}`).join(',')}`,
    registers: {
      state: SIGN_STATE_CODE[state],
      lines: m.lines.map((l) => ({ kind: DIVERSION_LINE_CODE[l.kind], freeSpaces: l.minutes, direction: SIGN_DIRECTION_CODE[l.direction], partial: false })),
    },
  };
}
