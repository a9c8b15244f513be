/**
 * The pedestrian heads the emitters share (./pedestrian.ts), on the demo city's I1: two
 * phases with crossings interleave their 22s and 23s in time order, a green ended before
 * walk + clearance writes what is still due with its end, and a drop forgets what is pending.
 * The emitters' own tests check the times against whole runs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { EventBuffer } from './buffer.js';
import { eventNumbering } from './numbering.js';
import { PedestrianHeads, pedestrianTiming } from './pedestrian.js';

const c = compileNetwork(loadNetwork(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8')));
const i = c.intersectionIds.indexOf('I1');
const p0 = c.phaseStart[i]!;
const p1 = c.phaseStart[i + 1]!;

function heads() {
  const events = new EventBuffer(16);
  const loc = events.locationIndex('I1');
  return { events, heads: new PedestrianHeads(c, eventNumbering(c), events, p0, p1, () => loc) };
}

describe('pedestrian heads', () => {
  // I1 (stages): S2 crosses N and S (13 m, 12.5 m), S3 E and W (21.5 m, 22 m); walk 7 s, 1.2 m/s.
  const s2 = c.phaseIds.indexOf('S2', p0);
  const s3 = c.phaseIds.indexOf('S3', p0);

  it('times walk and walk + clearance from the network file, rounded up to 0.1 s', () => {
    const t = pedestrianTiming(c);
    expect([t.walkS[s2], t.walkAndClearanceS[s2]]).toEqual([7, Math.ceil((7 + 13 / 1.2) * 10) / 10]);
    expect([t.walkS[s3], t.walkAndClearanceS[s3]]).toEqual([7, Math.ceil((7 + 22 / 1.2) * 10) / 10]);
    expect(t.walkAndClearanceS[c.phaseIds.indexOf('S1', p0)]).toBe(0);
  });

  it('writes overlapping phases in time order; a short green ends its walk and clearance with it; drop forgets', () => {
    const { events, heads: h } = heads();
    const n2 = eventNumbering(c).phaseNumber[s2]!;
    const n3 = eventNumbering(c).phaseNumber[s3]!;
    h.beginGreen(s2, 0);
    h.beginGreen(s3, 3000);
    h.writeDue(9000);
    // S2 ends at 12 s, before its walk + clearance (17.9 s): its 23 comes at 12 s.
    h.endGreen(s2, 12_000);
    h.writeDue(60_000);
    expect(events.records().map((r) => [r.eventCode, r.eventParam, r.timestampMs])).toEqual([
      [21, n2, 0],
      [21, n3, 3000],
      [22, n2, 7000],
      [22, n3, 10_000],
      [23, n2, 12_000],
      [23, n3, 3000 + Math.round((Math.ceil((7 + 22 / 1.2) * 10) / 10) * 10) * 100],
    ]);
    h.beginGreen(s2, 70_000);
    h.drop();
    h.writeDue(200_000);
    expect(events.length).toBe(7);
    expect(h.nextDueMs).toBe(Number.POSITIVE_INFINITY);
  });
});
