/**
 * The console's network routes (registered by ./api.ts): the schematic's data
 * (each intersection's position, approaches and corridors, the links between
 * them, and its detectors' health as the planner saw it, ./detectorHealth.ts),
 * and every signal's live state as server-sent events (the SPaT the gRPC
 * stream serves, service/spat.ts): per signal its cycle and time in cycle, the
 * phases green, and each movement's state. The network page draws the first
 * and colours it with the second; the intersection page listens to its own
 * signal (`?id=`). Viewers may read both.
 */
import type { ServerResponse } from 'node:http';
import { intersectionSpat, type MovementPhaseState } from '../../service/spat.js';
import { type ConsoleDeps, HttpError, type Route, SIGNALS_PERIOD_MS } from './api.js';
import { detectorHealth } from './detectorHealth.js';
import { streamPeriodic } from './sse.js';

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

export function networkRoutes(deps: ConsoleDeps, sse: Set<ServerResponse>): Route[] {
  const { state } = deps;
  return [
    {
      method: 'GET',
      pattern: /^\/api\/network\/map$/,
      roles: READERS,
      handle: async () => {
        const c = state.c;
        const health = detectorHealth(state);
        const fallbackIds = new Set(health.fallbacks.map((f) => f.intersectionId));
        return {
          name: c.network.name,
          forInterval: health.forInterval,
          healthWindow: { from: health.windowFrom, to: health.windowTo },
          intersections: c.network.intersections.map((ix) => {
            const dets = health.detectors.filter((d) => d.intersectionId === ix.id);
            return {
              id: ix.id,
              name: ix.name,
              lon: ix.position.lon,
              lat: ix.position.lat,
              approaches: ix.approaches.map((a) => a.id),
              corridors: c.network.corridors.filter((k) => k.intersections.includes(ix.id)).map((k) => k.id),
              detectors: dets.length,
              unhealthyDetectors: dets.filter((d) => !d.healthy).length,
              substitutedDetectors: dets.filter((d) => d.substituted.length > 0).length,
              fallback: fallbackIds.has(ix.id),
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
        streamPeriodic(req, res, sse, 'signals', SIGNALS_PERIOD_MS, () => {
          const tS = deps.clock();
          return { tS, signals: liveSignals(deps, indices, tS) };
        });
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

