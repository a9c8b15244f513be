/**
 * The diversion signs' messages for the sign pusher (./signPusher.ts
 * `SignPusher.forSource`): each decision point's guidance
 * (engine/traffic/diversion.ts: every route's travel time, or 前方拥堵 on the
 * main route and 请绕行 on the alternative, with hysteresis) in the guidance
 * sign register block (docs/modbus-register-map.md "Parking guidance signs", "Diversion signs": kinds 4
 * travel time, 5 congestion ahead, 6 use this route, 2 "—", the number in whole
 * minutes, one line per route in the decision point's order, the route's
 * arrow as the direction). `startDiversion` is what `greenwave serve
 * --diversion FILE` runs (started by startServer, ./server.ts): the decision
 * points of the diversion file (engine/traffic/diversionFile.ts), fed the
 * links' travel times of the service's traffic state (./trafficState.ts, the
 * same state TrafficStateService serves) on every sign round, a log line when a
 * point starts or stops diverting, gauges per point (./metrics.ts), and the
 * messages pushed to the signs that have an address. A point with a `plan` has
 * that plan proposed for review when it starts diverting (`proposePlan`: the
 * plan lifecycle, with a database); approving, deploying and rolling it back
 * stay a supervisor's steps. Tests: ./diversionSigns.test.ts
 * (the source against a virtual sign), ./diversionServe.test.ts (serve with a file).
 *
 * Sign state: normal when every route's time is known, degraded when some is
 * not, dark when none is.
 */
import { SIGN_DIRECTION_CODE, SIGN_STATE_CODE } from '../controllers-adapter/signBlock.js';
import { OptionError } from '../engine/errors.js';
import { DIVERSION_LINE_CODE, DiversionGuide, type DiversionMessage } from '../engine/traffic/diversion.js';
import { loadDiversion, type CompiledDiversion, type DiversionPlanConfig } from '../engine/traffic/diversionFile.js';
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { ReviewState } from './lifecycle/lifecycle.js';
import { SignPusher, type SignPusherOptions, type SignShow, type SignSource } from './signPusher.js';
import type { TrafficState } from './trafficState.js';
import type { ServiceMetrics } from './metrics.js';

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

/** The author the plan lifecycle records for a plan a diversion proposed. */
export const DIVERSION_AUTHOR = 'greenwave-diversion';

/**
 * Proposes the plan of decision point `decisionPointId` for review (the plan lifecycle's
 * `proposeDiversion`, as an operator's ProposePlan with `diversion` would) and resolves to its plan id and version.
 */
export type ProposeDiversionPlan = (decisionPointId: string, plan: DiversionPlanConfig, reason: string) => Promise<ProposedPlan>;

/** A stored proposal: its plan id and version. */
interface ProposedPlan {
  readonly planId: number;
  readonly version: number;
}

/** Withdraws the plan the service proposed (PlanLifecycle.withdraw) if nobody has decided it yet; resolves to its state after. */
export type WithdrawDiversionPlan = (planId: number, comment: string) => Promise<ReviewState>;

/** The diversion guidance running in the service: its file, the pusher, the messages last computed. */
export interface RunningDiversion {
  readonly file: CompiledDiversion;
  /** The pusher of the signs with an address (undefined when none has one). */
  readonly pusher: SignPusher | undefined;
  /** Every decision point's message as last computed (empty before the first round). */
  messages(): readonly DiversionMessage[];
  /** One round now (the pusher's timer does them every period); resolves when its pushes end. */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Loads the diversion file at `path` against the traffic state's links (throws INVALID_INPUT
 * with every located problem) and starts the rounds: every `signOptions.periodMs` (default 1 s)
 * the guide is fed the link travel times the traffic state holds now (they change with each
 * link-state interval) and the messages go to the signs.
 */
export function startDiversion(
  path: string,
  traffic: TrafficState,
  network: { readonly name: string; readonly c: CompiledNetwork },
  clock: () => number,
  opts: { log?: (line: string) => void; metrics?: ServiceMetrics; signOptions?: SignPusherOptions; proposePlan?: ProposeDiversionPlan; withdrawPlan?: WithdrawDiversionPlan } = {},
): RunningDiversion {
  const file = loadDiversion(path, traffic.links, network.name, network.c);
  const guide = new DiversionGuide(file.points, traffic.links.index, file.options);
  const inner = diversionSignSource(guide, traffic.links.count, () => traffic.current().travelTimeS);
  const log = opts.log;
  /** Per decision point diverting now, the plan proposed for it (undefined: none, or it failed). */
  const proposed = new Map<string, Promise<ProposedPlan | undefined>>();
  const propose = async (m: DiversionMessage, plan: DiversionPlanConfig): Promise<ProposedPlan | undefined> => {
    if (opts.proposePlan === undefined) {
      log?.(`greenwave serve: diversion ${m.decisionPointId}: its plan is not proposed: the plan lifecycle needs a database (--db or --pg)`);
      return undefined;
    }
    try {
      const route = m.lines[m.divertTo]!.routeId;
      const p = await opts.proposePlan(m.decisionPointId, plan, `diversion ${m.decisionPointId} to ${route} started: ${routeTimes(m)}`);
      log?.(`greenwave serve: diversion ${m.decisionPointId}: proposed its plan (version ${p.version}, plan id ${p.planId}: ${plan.vehPerH} veh/h onto ${route}) for review`);
      return p;
    } catch (e: unknown) {
      // A plan the validator refuses, a locked cycle, a store that fails: the signs go on all the same.
      log?.(`greenwave serve: diversion ${m.decisionPointId}: its plan could not be proposed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  };
  // A diversion that ends before its plan was approved takes the plan back; one approved (or
  // deployed) stays a supervisor's to deploy or roll back: the lifecycle's rule, not the sign's.
  const withdraw = async (pointId: string, p: ProposedPlan): Promise<void> => {
    const which = `version ${p.version}, plan id ${p.planId}`;
    try {
      const state = opts.withdrawPlan ? await opts.withdrawPlan(p.planId, `diversion ${pointId} ended before this plan was approved`) : 'proposed';
      if (state === 'rejected') log?.(`greenwave serve: diversion ${pointId}: withdrew its plan (${which}): the diversion ended before it was approved`);
      else log?.(`greenwave serve: diversion ${pointId}: its plan (${which}) is ${state}: ${state === 'approved' ? 'roll back once it is deployed, or leave it undeployed' : 'reject it'} now that the diversion has ended`);
    } catch (e: unknown) {
      log?.(`greenwave serve: diversion ${pointId}: its plan (${which}) could not be withdrawn: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const source: SignSource = {
    signIds: inner.signIds,
    messages(nowS: number): readonly SignShow[] {
      const shows = inner.messages(nowS);
      for (const m of inner.last()) {
        if (!m.guidanceChanged) continue;
        const plan = file.plans.get(m.decisionPointId);
        if (m.divertTo > 0) {
          log?.(`greenwave serve: diversion ${m.decisionPointId} (sign ${m.signId}): diverting to ${m.lines[m.divertTo]!.routeId}: ${m.textZh} / ${m.textEn} (${routeTimes(m)})`);
          if (plan !== undefined) proposed.set(m.decisionPointId, propose(m, plan));
        } else {
          // Guidance starts at "not diverting", so a change to it is the end of a diversion.
          log?.(`greenwave serve: diversion ${m.decisionPointId} (sign ${m.signId}): diversion ended: ${m.textZh} (${routeTimes(m)})`);
          const made = proposed.get(m.decisionPointId);
          proposed.delete(m.decisionPointId);
          if (made) void made.then((p) => p && withdraw(m.decisionPointId, p));
        }
      }
      return shows;
    },
  };
  opts.metrics?.diversion(() => inner.last());
  log?.(`greenwave serve: diversion: ${file.points.length} decision point${file.points.length === 1 ? '' : 's'} from ${path}, ${file.endpoints.length} sign${file.endpoints.length === 1 ? '' : 's'} with a Modbus address`);
  const pusher = file.endpoints.length > 0 ? SignPusher.forSource(source, file.endpoints, clock, { ...(log ? { log } : {}), ...opts.signOptions }).start() : undefined;
  // Without a sign to push to, the rounds still run: the log, the gauges and messages() tell what the signs would show.
  const timer = pusher ? undefined : setInterval(() => source.messages(clock()), opts.signOptions?.periodMs ?? 1000);
  timer?.unref();
  if (!pusher) source.messages(clock());
  return {
    file,
    pusher,
    messages: () => inner.last(),
    tick: () => (pusher ? pusher.tick() : Promise.resolve(void source.messages(clock()))),
    close: async () => {
      clearInterval(timer);
      await pusher?.close();
    },
  };
}

function routeTimes(m: DiversionMessage): string {
  return m.lines.map((l) => `${l.routeId} ${Number.isFinite(l.travelTimeS) ? `${Math.round(l.travelTimeS)} s` : 'unknown'}`).join(', ');
}
