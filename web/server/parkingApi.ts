/**
 * The console's parking API, registered in the route table of ./api.ts:
 * GET /api/parking, every car park's capacity, vacant spaces, occupancy, trend
 * and status, and every guidance sign's current message (service/parkingState.ts
 * ParkingGuidance.live); GET /api/parking/events, the same every
 * PARKING_PERIOD_MS as server-sent events (only when something changed, and at
 * least every KEEPALIVE_PERIODS). Without `serve --parking` both answer
 * `configured: false` (the page says so). Every role may read them.
 *
 * Status: the engine's open / full / closed / unknown, with `stale` for an
 * unknown whose feed did report once but not for the stale window (a feed that
 * went quiet, as against one never heard from).
 */
import type { ServerResponse } from 'node:http';
import type { OccupancyState } from '../../engine/parking/schema.js';
import type { ConsoleDeps, Route } from './api.js';
import { streamChanges } from './sse.js';

/** How often the parking stream looks for changes, ms. */
export const PARKING_PERIOD_MS = 1000;
/** A state is sent at least every this many periods, changed or not (the page shows its age). */
const KEEPALIVE_PERIODS = 15;

const READERS = ['viewer', 'operator', 'supervisor'] as const;

export type CarParkStatus = OccupancyState['status'] | 'stale';

export function parkingRoutes(deps: ConsoleDeps, streams: Set<ServerResponse>): Route[] {
  const snapshot = (): Record<string, unknown> => {
    const g = deps.parking;
    if (!g) return { configured: false };
    const nowMs = Math.round(deps.clock() * 1000);
    const { states, signs } = g.live(nowMs);
    const file = g.parking.file;
    return {
      configured: true,
      tMs: nowMs,
      carParks: file.carParks.map((p, k) => {
        const s = states[k]!;
        const status: CarParkStatus = s.status === 'unknown' && Number.isFinite(s.statusTimeMs) ? 'stale' : s.status;
        return { id: p.id, nameZh: p.nameZh, nameEn: p.nameEn, kind: p.kind, capacity: s.capacity, occupied: s.occupied, vacant: s.vacant, occupancyPct: s.occupancyPct, trend: s.trend, status, statusTimeMs: Number.isFinite(s.statusTimeMs) ? s.statusTimeMs : null };
      }),
      signs: signs.map((m, si) => ({
        signId: m.signId,
        state: m.state,
        lines: m.lines.map((l, li) => {
          const def = file.signs[si]!.lines[li]!;
          return { labelZh: def.labelZh, labelEn: def.labelEn, direction: def.direction, carParkIds: def.carParkIds, kind: l.kind, freeSpaces: l.freeSpaces, textZh: l.textZh, textEn: l.textEn, partial: l.partial };
        }),
      })),
    };
  };
  return [
    { method: 'GET', pattern: /^\/api\/parking$/, roles: READERS, handle: async () => snapshot() },
    {
      method: 'GET',
      pattern: /^\/api\/parking\/events$/,
      roles: READERS,
      handle: async ({ req, res }) => {
        streamChanges(req, res, streams, 'parking', PARKING_PERIOD_MS, KEEPALIVE_PERIODS, deps.parking !== undefined, snapshot);
        return undefined;
      },
    },
  ];
}
