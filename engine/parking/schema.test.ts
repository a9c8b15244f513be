import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capacityOf, ParkingFileSchema } from './schema.js';

describe('parking file schema', () => {
  it('reads the demo city parking file: car parks with entrances on links, capacity by type, signs', () => {
    const f = ParkingFileSchema.parse(JSON.parse(readFileSync(new URL('../../examples/demo-city/parking.json', import.meta.url), 'utf8')));
    expect(f.carParks.length).toBe(8);
    expect(f.signs.length).toBe(3);
    for (const p of f.carParks) expect(capacityOf(p)).toBeGreaterThan(0);
    expect(f.utcOffsetMin).toBe(480);
  });

  it('refuses a malformed car park with the field path', () => {
    const r = ParkingFileSchema.safeParse({ formatVersion: 1, carParks: [{ id: 'P1', nameZh: 'x', nameEn: 'x', kind: 'garage', position: { lon: 0, lat: 0 }, entrances: [], capacityByType: { general: -1 }, fees: { firstHour: 1, perHour: 1 } }] });
    expect(r.success).toBe(false);
    const paths = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['carParks.0.entrances', 'carParks.0.capacityByType.general']));
  });
});
