import { describe, expect, it } from 'vitest';
import { parkApiCity, type ParkApiLotInput } from './parkapi.js';

const lot = (over: Partial<ParkApiLotInput>): ParkApiLotInput => ({ id: 'P1', nameZh: '银泰停车场', nameEn: 'Intime Garage', kind: 'garage', lat: 30.27, lon: 120.13, status: 'open', capacity: 200, vacant: 57, statusTimeMs: Date.parse('2026-12-06T07:59:00Z'), ...over });

describe('ParkAPI city document', () => {
  it('open, full, closed and unknown car parks, in the ParkAPI fields; unknown has no free count', () => {
    const city = parkApiCity(
      [lot({}), lot({ id: 'P2', status: 'full', vacant: 3 }), lot({ id: 'P3', kind: 'onStreet', status: 'closed', vacant: 40 }), lot({ id: 'P4', kind: 'surface', status: 'unknown', vacant: Number.NaN, statusTimeMs: 0 })],
      Date.parse('2026-12-06T08:00:00Z'),
    );
    expect(city.last_downloaded).toBe('2026-12-06T08:00:00');
    expect(city.last_updated).toBe('2026-12-06T07:59:00');
    expect(city.lots).toEqual([
      { id: 'P1', name: '银泰停车场', lot_type: 'Parkhaus', coords: { lat: 30.27, lng: 120.13 }, state: 'open', free: 57, total: 200, forecast: false },
      { id: 'P2', name: '银泰停车场', lot_type: 'Parkhaus', coords: { lat: 30.27, lng: 120.13 }, state: 'open', free: 0, total: 200, forecast: false },
      { id: 'P3', name: '银泰停车场', lot_type: 'Straße', coords: { lat: 30.27, lng: 120.13 }, state: 'closed', free: 0, total: 200, forecast: false },
      { id: 'P4', name: '银泰停车场', lot_type: 'Parkplatz', coords: { lat: 30.27, lng: 120.13 }, state: 'nodata', total: 200, forecast: false },
    ]);
    expect(parkApiCity([lot({})], 0, 'en').lots[0]!.name).toBe('Intime Garage');
  });
});
