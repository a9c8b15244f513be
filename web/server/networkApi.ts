/**
 * The console's network routes (registered by ./api.ts): the schematic's data
 * (each intersection's position, approaches and corridors, the links between
 * them, and its detectors' health: from the counts collected from the
 * controllers lately, else as the planner saw it, ./liveDetectorHealth.ts),
 * and every signal's live state as server-sent events (the SPaT the gRPC
 * stream serves, service/spat.ts): per signal its cycle and time in cycle, the
 * phases green, and each movement's state; on the same stream a `health` event
 * at the start and whenever the detector health changed. The network page
 * draws the first and colours it with the second; the intersection page
 * listens to its own signal (`?id=`). Viewers may read both.
 */
import type { ServerResponse } from 'node:http';
import { intersectionSpat, type MovementPhaseState } from '../../service/spat.js';
import { type ConsoleDeps, HttpError, type Route, SIGNALS_PERIOD_MS } from './api.js';
import { intersectionHealth, type LiveDetectorHealth, type LiveHealth, networkHealth } from './liveDetectorHealth.js';
import { openEventStream } from './sse.js';

const READERS = ['viewer', 'operator', 'supervisor'] as const;

/** A movement's state as the pages draw it. */
export type Lamp = 'protected' | 'permitted' | 'clearance' | 'stop';
const LAMP: Record<MovementPhaseState, Lamp> = {
  MOVEMENT_PHASE_STATE_PROTECTED_MOVEMENT_ALLOWED: 'protected',
  MOVEMENT_PHASE_STATE_PERMISSIVE_MOVEMENT_ALLOWED: 'permitted',
  MOVEMENT_PHASE_STATE_PROTECTED_CLEARANCE: 'clearance',
  MOVEMENT_PHASE_STATE_PERMISSIVE_CLEARANCE: 'clearance',
  MOVEMENT_PHASE_STATE_STOP_AND_REMAIN: 'stop',
};

export interface LiveSignalState {
  readonly id: string;
  readonly cycleS: number;
  readonly cycleTimeS: number;
  readonly greenPhaseIds: readonly string[];
  readonly priorityActive: boolean;
  /** By movement id ("NBT"): its lamp now. */
  readonly movements: Readonly<Record<string, Lamp>>;
}

export function networkRoutes(deps: ConsoleDeps, sse: Set<ServerResponse>, liveHealth: LiveDetectorHealth): Route[] {
  const { state } = deps;
  return [
    {
      method: 'GET',
      pattern: /^\/api\/network\/map$/,
      roles: READERS,
      handle: async () => {
        const c = state.c;
        const health = networkHealth(await liveHealth.current(), c.intersectionIds);
        return {
          name: c.network.name,
          forInterval: health.head.forInterval,
          healthWindow: { from: health.head.windowFrom, to: health.head.windowTo },
          health: health.head,
          intersections: c.network.intersections.map((ix, i) => {
            const h = health.intersections[i]!;
            return {
              id: ix.id,
              name: ix.name,
              lon: ix.position.lon,
              lat: ix.position.lat,
              approaches: ix.approaches.map((a) => a.id),
              corridors: c.network.corridors.filter((k) => k.intersections.includes(ix.id)).map((k) => k.id),
              detectors: h.detectors,
              unhealthyDetectors: h.unhealthyDetectors,
              substitutedDetectors: h.substitutedDetectors,
              fallback: h.fallback,
            };
          }),
          links: c.network.links.map((l) => ({ id: l.id, from: l.from, to: l.to, lengthM: l.lengthM, speedKph: l.designSpeedKph })),
          corridors: c.network.corridors.map((k) => ({ id: k.id, name: k.name || k.id, intersections: k.intersections })),
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/network\/signals$/,
      roles: READERS,
      handle: async ({ req, res, url }) => {
        const id = url.searchParams.get('id');
        const indices = id === null ? state.c.intersectionIds.map((_, i) => i) : [state.c.intersectionIds.indexOf(id)];
        if (indices.some((i) => i < 0)) throw new HttpError(404, 'NOT_FOUND', `no intersection "${id}"`);
        const ids = indices.map((i) => state.c.intersectionIds[i]!);
        const healthOf = (h: LiveHealth) => (id === null ? networkHealth(h, ids) : intersectionHealth(h, id));
        let sent: LiveHealth | undefined;
        const tick = (): void => {
          const tS = deps.clock();
          if (!stream.send('signals', { tS, signals: liveSignals(deps, indices, tS) }) && !stream.open) {
            clearInterval(timer);
            return;
          }
          // The detector health when it changed (a new interval collected), on the same stream.
          liveHealth.current().then(
            (h) => {
              if (h !== sent && stream.open && stream.send('health', healthOf(h))) sent = h;
            },
            (e: unknown) => deps.log(`greenwave serve: console: reading detector health failed: ${e instanceof Error ? e.message : String(e)}`),
          );
        };
        const timer = setInterval(tick, SIGNALS_PERIOD_MS);
        const stream = openEventStream(req, res, sse, () => clearInterval(timer));
        tick();
        return undefined;
      },
    },
  ];
}

/** The signals' live state now: what one `signals` event carries. */
export function liveSignals(deps: ConsoleDeps, indices: readonly number[], tS: number): LiveSignalState[] {
  const { c, tsp } = deps.state;
  return indices.map((i) => {
    const spat = intersectionSpat(c, tsp, i, tS);
    return {
      id: spat.intersectionId,
      cycleS: spat.cycleS,
      cycleTimeS: spat.cycleTimeS,
      greenPhaseIds: spat.greenPhaseIds,
      priorityActive: spat.priorityActive,
      movements: Object.fromEntries(spat.movements.map((m) => [m.movementId, LAMP[m.state]])),
    };
  });
}

