/**
 * Diversion guidance (诱导分流) at decision points: a guidance sign before a
 * junction, with a main route and one or more alternative routes, each a
 * sequence of links (engine/traffic/links.ts ids). From the links' current
 * travel times (a route's time is the sum along its path, as
 * LinkStateEstimator.routeTravelTimeS sums them) the sign shows either every
 * route's travel time, or "前方拥堵 请绕行 <alt>" / "Congestion ahead, use
 * <alt>" when the main route is slower than the best alternative by a margin.
 * Called by whoever holds link travel times: the diversion benchmark
 * (bench/diversion) and the service's sign source (service/diversionSigns.ts),
 * which hands the messages to the sign pusher (service/signPusher.ts).
 *
 * Hysteresis, so that a sign does not flap while the two routes are close:
 * diversion starts when main − alternative ≥ `onMarginS` and ends only when it
 * has fallen below `offMarginS` (< onMarginS); and whatever the sign shows is
 * held at least `minHoldS` before the guidance may change again (a change of
 * the numbers alone is not a change of guidance and is not held). Drivers who
 * see a sign change its mind every minute stop believing it; that is the
 * reason for the hold, not the sign's hardware.
 */
import { OptionError } from '../errors.js';

/** A sign line's direction arrow, as the parking signs name it. */
export type RouteDirection = 'left' | 'ahead' | 'right';

export interface RouteConfig {
  readonly id: string;
  readonly nameZh: string;
  readonly nameEn: string;
  /** Where this route turns at the decision junction: the arrow on the sign's line. */
  readonly direction: RouteDirection;
  /** Link ids (TrafficLinks.ids) from the decision point to where the routes meet again, in order. */
  readonly links: readonly string[];
}

export interface DecisionPointConfig {
  readonly id: string;
  /** The guidance sign showing this decision point's message. */
  readonly signId: string;
  /** routes[0] is the main route, the rest are alternatives. */
  readonly routes: readonly RouteConfig[];
  /**
   * Show the routes' travel times only, never divert (default false): for a sign whose routes
   * are not alternatives of each other (two destinations), where one being slower means nothing.
   * Such a point may have a single route.
   */
  readonly travelTimesOnly?: boolean;
}

export interface DiversionOptions {
  /** Divert when the main route is at least this much slower than the best alternative, s (default 120). */
  readonly onMarginS?: number;
  /** Stop diverting when the gain falls below this, s (default 30; must be below onMarginS). */
  readonly offMarginS?: number;
  /** A guidance state is held at least this long before it may change, s (default 300). */
  readonly minHoldS?: number;
}

/**
 * Line kinds of a diversion sign, numbered after the parking sign's (engine/parking/signs.ts
 * LINE_MESSAGE_CODE: 2 is its "—"), so that one register block carries both. Never renumber.
 */
export const DIVERSION_LINE_CODE = { unknown: 2, travelTime: 4, congested: 5, divert: 6 } as const;
export type DiversionLineKind = keyof typeof DIVERSION_LINE_CODE;

export interface DiversionLine {
  readonly routeId: string;
  readonly kind: DiversionLineKind;
  /** The route's travel time, s; NaN when some link's time is unknown. */
  readonly travelTimeS: number;
  /** What the sign shows as a number, whole minutes (at least 1); NaN when unknown. */
  readonly minutes: number;
  readonly direction: RouteDirection;
}

export interface DiversionMessage {
  readonly decisionPointId: string;
  readonly signId: string;
  /** The alternative diverted to (index into routes), -1 while the sign shows travel times. */
  readonly divertTo: number;
  readonly lines: readonly DiversionLine[];
  readonly textZh: string;
  readonly textEn: string;
  /** The guidance (divert or not, and to which route) changed in this update. */
  readonly guidanceChanged: boolean;
  /** Since when the current guidance is shown, s (caller's clock). */
  readonly sinceS: number;
}

/** A decision point with its routes as link indices. */
interface CompiledPoint {
  readonly cfg: DecisionPointConfig;
  /** Flattened route paths: links[start[r] .. start[r + 1]). */
  readonly start: Int32Array;
  readonly links: Int32Array;
  readonly timeS: Float64Array;
}

export class DiversionGuide {
  readonly onMarginS: number;
  readonly offMarginS: number;
  readonly minHoldS: number;
  private readonly points: CompiledPoint[];
  /** Per point: the alternative diverted to (-1 none), and since when the guidance holds. */
  private readonly divertTo: Int32Array;
  private readonly sinceS: Float64Array;

  /** `linkIndex`: TrafficLinks.index (link id → dense index of the travel-time array `update` reads). */
  constructor(points: readonly DecisionPointConfig[], linkIndex: ReadonlyMap<string, number>, opts: DiversionOptions = {}) {
    this.onMarginS = opts.onMarginS ?? 120;
    this.offMarginS = opts.offMarginS ?? 30;
    this.minHoldS = opts.minHoldS ?? 300;
    if (!(this.onMarginS > 0)) throw new OptionError('options.onMarginS', `must be > 0, got ${this.onMarginS}`);
    if (!(this.offMarginS >= 0 && this.offMarginS < this.onMarginS)) throw new OptionError('options.offMarginS', `must be in [0, onMarginS = ${this.onMarginS}), got ${this.offMarginS}`);
    if (!(this.minHoldS >= 0)) throw new OptionError('options.minHoldS', `must be >= 0, got ${this.minHoldS}`);
    const ids = new Set<string>();
    this.points = points.map((p, pi) => {
      const at = `decisionPoints[${pi}]`;
      if (ids.has(p.id)) throw new OptionError(`${at}.id`, `repeats "${p.id}"`);
      ids.add(p.id);
      if (p.travelTimesOnly === true ? p.routes.length < 1 : p.routes.length < 2) throw new OptionError(`${at}.routes`, p.travelTimesOnly === true ? 'needs at least one route' : `needs a main route and at least one alternative, got ${p.routes.length}`);
      const start = new Int32Array(p.routes.length + 1);
      const flat: number[] = [];
      p.routes.forEach((r, ri) => {
        start[ri] = flat.length;
        if (r.links.length === 0) throw new OptionError(`${at}.routes[${ri}].links`, 'is empty');
        r.links.forEach((id, li) => {
          const k = linkIndex.get(id);
          if (k === undefined) throw new OptionError(`${at}.routes[${ri}].links[${li}]`, `names no link of the network: "${id}"`);
          flat.push(k);
        });
      });
      start[p.routes.length] = flat.length;
      return { cfg: p, start, links: Int32Array.from(flat), timeS: new Float64Array(p.routes.length) };
    });
    this.divertTo = new Int32Array(points.length).fill(-1);
    this.sinceS = new Float64Array(points.length).fill(Number.NEGATIVE_INFINITY);
  }

  get pointCount(): number {
    return this.points.length;
  }

  /** The sign of each decision point, in order. */
  get signIds(): string[] {
    return this.points.map((p) => p.cfg.signId);
  }

  /** Is point p diverting now, and to which alternative (-1 none). */
  diversionOf(p: number): number {
    return this.divertTo[p]!;
  }

  /**
   * Every decision point's message at time `tS` (s, non-decreasing) from the links' travel times
   * (s, NaN = unknown), indexed as the `linkIndex` given to the constructor.
   */
  update(tS: number, linkTravelTimeS: ArrayLike<number>): DiversionMessage[] {
    const out: DiversionMessage[] = [];
    for (let p = 0; p < this.points.length; p++) {
      const pt = this.points[p]!;
      const t = pt.timeS;
      for (let r = 0; r < t.length; r++) {
        let sum = 0;
        for (let q = pt.start[r]!; q < pt.start[r + 1]!; q++) sum += linkTravelTimeS[pt.links[q]!]!;
        t[r] = sum;
      }
      const was = this.divertTo[p]!;
      const next = pt.cfg.travelTimesOnly === true ? -1 : this.decide(t, was, tS - this.sinceS[p]! >= this.minHoldS);
      if (next !== was) {
        this.divertTo[p] = next;
        this.sinceS[p] = tS;
      }
      out.push(this.message(pt, next, next !== was, this.sinceS[p]!));
    }
    return out;
  }

  /** The guidance after this update: an unknown time is no evidence for diverting, nor for keeping it. */
  private decide(t: Float64Array, was: number, holdOver: boolean): number {
    if (!holdOver) return was;
    const main = t[0]!;
    let best = -1;
    for (let r = 1; r < t.length; r++) if (t[r]! >= 0 && (best < 0 || t[r]! < t[best]!)) best = r;
    if (was < 0) return best > 0 && main - t[best]! >= this.onMarginS ? best : -1;
    // Diverting: end it when the gain over the route shown has fallen below the off margin.
    if (!(main - t[was]! >= this.offMarginS)) return -1;
    // Another alternative clearly better than the one shown: move over (same margin as starting).
    if (best > 0 && best !== was && t[was]! - t[best]! >= this.onMarginS) return best;
    return was;
  }

  private message(pt: CompiledPoint, divertTo: number, changed: boolean, sinceS: number): DiversionMessage {
    const routes = pt.cfg.routes;
    const lines: DiversionLine[] = routes.map((r, k) => {
      const tt = pt.timeS[k]!;
      const known = tt >= 0;
      const kind: DiversionLineKind = !known ? 'unknown' : divertTo < 0 ? 'travelTime' : k === 0 ? 'congested' : k === divertTo ? 'divert' : 'travelTime';
      return { routeId: r.id, kind, travelTimeS: known ? tt : Number.NaN, minutes: known ? Math.max(1, Math.round(tt / 60)) : Number.NaN, direction: r.direction };
    });
    let textZh: string;
    let textEn: string;
    if (divertTo > 0) {
      textZh = `前方拥堵 请绕行${routes[divertTo]!.nameZh}`;
      textEn = `Congestion ahead, use ${routes[divertTo]!.nameEn}`;
    } else {
      textZh = lines.map((l, k) => `${routes[k]!.nameZh} ${l.kind === 'unknown' ? '—' : `${l.minutes}分钟`}`).join(' | ');
      textEn = lines.map((l, k) => `${routes[k]!.nameEn} ${l.kind === 'unknown' ? '—' : `${l.minutes} min`}`).join(' | ');
    }
    return { decisionPointId: pt.cfg.id, signId: pt.cfg.signId, divertTo, lines, textZh, textEn, guidanceChanged: changed, sinceS };
  }
}
