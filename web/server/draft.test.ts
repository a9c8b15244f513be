/**
 * The corridor editor's preview (web/src/draft.ts) against the server's own
 * answer: for every signal of the demo city's corridors and every phase, an
 * offset change and green changes (alone, and two phases at once) are applied
 * by the page's draftOf to the plan's time-space data and by the lifecycle's
 * applyEdits + timeSpaceData (what `validate` answers); where the validator
 * accepts the edit, the preview has the same offset, cycle, phase starts and
 * greens and through windows. Refused edits are not compared: the page puts
 * the plan in force back for them.
 */
import { describe, expect, it } from 'vitest';
import { ServiceState } from '../../service/state.js';
import { DEFAULT_COUNTS, DEFAULT_NETWORK } from '../../service/server.js';
import { priorityConfig } from '../../engine/priority/policy.js';
import { applyEdits, type PlanEdit } from '../../service/lifecycle/edits.js';
import { mod } from '../../engine/numeric.js';
import { timeSpaceData, type TimeSpaceData } from './timeSpace.js';
import { draftOf } from '../src/draft.js';

const close = (a: number, b: number): boolean => Math.abs(a - b) < 0.051;
const closeMod = (a: number, b: number, m: number): boolean => close(mod(a - b + m / 2, m), m / 2);

/** Where the preview and the server's data differ, as readable lines (empty: the same). */
function differences(draft: TimeSpaceData, server: TimeSpaceData): string[] {
  const out: string[] = [];
  draft.signals.forEach((d, k) => {
    const s = server.signals[k]!;
    if (!close(d.offsetS, s.offsetS) || !close(d.cycleS, s.cycleS)) out.push(`${s.id}: offset/cycle ${d.offsetS}/${d.cycleS} vs ${s.offsetS}/${s.cycleS}`);
    d.phases.forEach((p, j) => {
      const q = s.phases[j]!;
      if (!close(p.startS, q.startS) || !close(p.greenS, q.greenS)) out.push(`${s.id} ${q.phaseId}: ${p.startS}+${p.greenS} vs ${q.startS}+${q.greenS}`);
    });
    for (const dir of ['out', 'in'] as const) {
      const a = d[dir];
      const b = s[dir];
      if (!closeMod(a.startS, b.startS, s.cycleS) || !close(a.greenS, b.greenS) || !close(a.yellowS, b.yellowS)) out.push(`${s.id} ${dir}: ${a.startS}+${a.greenS} vs ${b.startS}+${b.greenS}`);
    }
  });
  return out;
}

describe('the editor preview', () => {
  it('lays an accepted edit out as the server does, on every signal and phase of the demo corridors', () => {
    const state = ServiceState.load(DEFAULT_NETWORK, DEFAULT_COUNTS, '08:00', priorityConfig());
    const { c } = state;
    const buf = state.plan.buffer;
    let compared = 0;
    let refused = 0;
    for (const cor of c.network.corridors) {
      const base = timeSpaceData(c, buf, cor.id)!;
      for (const s of base.signals) {
        const edits: PlanEdit[][] = [[{ intersectionId: s.id, offsetS: s.offsetS + 17.3 }]];
        s.phases.forEach((p, j) => {
          for (const d of [-3, 2.5, 7]) edits.push([{ intersectionId: s.id, phases: [{ phaseId: p.phaseId, greenS: p.greenS + d }] }]);
          const q = s.phases[(j + 1) % s.phases.length]!;
          if (q !== p) edits.push([{ intersectionId: s.id, offsetS: s.offsetS - 4, phases: [{ phaseId: p.phaseId, greenS: p.greenS + 4 }, { phaseId: q.phaseId, greenS: q.greenS - 2 }] }]);
        });
        for (const e of edits) {
          let server: TimeSpaceData;
          try {
            server = timeSpaceData(c, applyEdits(c, buf, e), cor.id)!;
          } catch {
            refused++;
            continue;
          }
          const draft = draftOf(base, e);
          expect(differences(draft, server), JSON.stringify(e)).toEqual([]);
          expect(draft.bands).toBeUndefined();
          compared++;
        }
      }
    }
    // Enough accepted edits of both kinds were compared for the check to mean something.
    expect(compared).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(0);
  });
});
