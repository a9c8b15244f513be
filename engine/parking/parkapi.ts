/**
 * The car parks' live state as a ParkAPI city document (the JSON format of the
 * open ParkAPI / ParkenDD project, which existing parking apps read): one lot
 * per car park with its coordinates, type, state (`open`, `closed` or
 * `nodata`), free spaces and total. A full car park is `open` with 0 free; a
 * stale feed is `nodata` with no free count, never 0 (a guess would send
 * drivers away or in). Called by `greenwave ops parkapi` (cli/ops.ts), which
 * reads the states from a running service over gRPC.
 */
import type { ParkingSiteStatus } from './schema.js';

export interface ParkApiLotInput {
  readonly id: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly kind: string;
  readonly lat: number;
  readonly lon: number;
  readonly status: ParkingSiteStatus;
  readonly capacity: number;
  readonly vacant: number;
  /** When the state was established, ms since 1970 (0: never). */
  readonly statusTimeMs: number;
}

export interface ParkApiLot {
  readonly id: string;
  readonly name: string;
  readonly lot_type: string;
  readonly coords: { readonly lat: number; readonly lng: number };
  readonly state: 'open' | 'closed' | 'nodata';
  /** Absent while the state is not known. */
  readonly free?: number;
  readonly total: number;
  readonly forecast: false;
}

export interface ParkApiCity {
  readonly last_downloaded: string;
  readonly last_updated: string;
  readonly lots: readonly ParkApiLot[];
}

const LOT_TYPE: Readonly<Record<string, string>> = { garage: 'Parkhaus', surface: 'Parkplatz', onStreet: 'Straße' };

/** ParkAPI timestamps: UTC, seconds, no zone suffix (as the ParkAPI server writes them). */
const isoSeconds = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

export function parkApiCity(lots: readonly ParkApiLotInput[], nowMs: number, lang: 'zh' | 'en' = 'zh'): ParkApiCity {
  let lastMs = 0;
  const out = lots.map((l): ParkApiLot => {
    lastMs = Math.max(lastMs, l.statusTimeMs);
    const state = l.status === 'closed' ? 'closed' : l.status === 'unknown' ? 'nodata' : 'open';
    const base = { id: l.id, name: lang === 'zh' ? l.nameZh : l.nameEn, lot_type: LOT_TYPE[l.kind] ?? l.kind, coords: { lat: l.lat, lng: l.lon }, state, total: l.capacity, forecast: false } as const;
    return state === 'nodata' ? base : { ...base, free: state === 'closed' ? 0 : l.status === 'full' ? 0 : Math.max(0, Math.min(l.capacity, Math.round(l.vacant))) };
  });
  return { last_downloaded: isoSeconds(nowMs), last_updated: isoSeconds(lastMs > 0 ? lastMs : nowMs), lots: out };
}
