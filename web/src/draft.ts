/**
 * The corridor editor's preview: the time-space data of the plan in force with
 * the operator's edits applied, computed in the page at once so the diagram
 * follows each keystroke, drawn marked "not yet checked" until the server's
 * one validator answers (web/server/api.ts `validate`), whose data then
 * replaces it, or whose refusal puts the plan in force back. It decides
 * nothing about safety. Its arithmetic is the server's, in the small: offsets
 * and greens kept to 0.1 s; greens relaid ring by ring and barrier by barrier,
 * the cycle their sum (service/lifecycle/edits.ts relayout); a through window
 * moved with the serving phases it is made of (engine/corridor/windows.ts).
 * Bands are not guessed: the preview has none until the server measures them.
 * Used by ./pages/Corridor.tsx; checked against the server's own data in
 * web/server/draft.test.ts.
 */
import { mod, round1 } from '../../engine/numeric.js';

/** The parts of the time-space data (web/server/timeSpace.ts) the preview reads and writes. */
interface Green {
  readonly startS: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly allRedS: number;
}
interface Phase extends Green {
  readonly phaseId: string;
  readonly ring: number;
  readonly barrier: number;
  readonly servesOut: boolean;
  readonly servesIn: boolean;
}
interface Signal {
  readonly id: string;
  readonly cycleS: number;
  readonly offsetS: number;
  readonly out: Green;
  readonly in: Green;
  readonly phases: readonly Phase[];
}
interface Data {
  readonly signals: readonly Signal[];
  readonly bands: unknown;
}
interface Edit {
  readonly intersectionId: string;
  readonly offsetS?: number;
  readonly phases?: readonly { readonly phaseId: string; readonly greenS: number }[];
}

const SAME_S = 1e-6;
const duration = (p: Green): number => p.greenS + p.yellowS + p.allRedS;

/** `base` with `edits` applied as the server would lay them out; bands dropped. Values that are not numbers are left as they were. */
export function draftOf<D extends Data>(base: D, edits: readonly Edit[]): D {
  const byId = new Map(edits.map((e) => [e.intersectionId, e]));
  const signals = base.signals.map((s) => {
    const e = byId.get(s.id);
    return e ? draftSignal(s, e) : s;
  });
  return { ...base, signals, bands: undefined };
}

function draftSignal<S extends Signal>(s: S, e: Edit): S {
  const offsetS = e.offsetS !== undefined && Number.isFinite(e.offsetS) ? round1(e.offsetS) : s.offsetS;
  const greens = new Map((e.phases ?? []).filter((p) => Number.isFinite(p.greenS)).map((p) => [p.phaseId, round1(p.greenS)]));
  if (greens.size === 0) return { ...s, offsetS };
  const phases = s.phases.map((p) => ({ ...p, greenS: greens.get(p.phaseId) ?? p.greenS }));
  // Starts again ring by ring in each barrier, in the order they ran; the cycle is the barriers' sum.
  const barriers = [...new Set(phases.map((p) => p.barrier))].sort((a, b) => a - b);
  const rings = [...new Set(phases.map((p) => p.ring))].sort((a, b) => a - b);
  const order = new Map(s.phases.map((p, k) => [p.phaseId, k]));
  let barrierStart = 0;
  for (const b of barriers) {
    let barrierLength = 0;
    for (const r of rings) {
      const inRing = phases.filter((p) => p.barrier === b && p.ring === r).sort((x, y) => x.startS - y.startS || order.get(x.phaseId)! - order.get(y.phaseId)!);
      let t = barrierStart;
      for (const p of inRing) {
        p.startS = round1(t);
        t += duration(p);
      }
      barrierLength = Math.max(barrierLength, t - barrierStart);
    }
    barrierStart += barrierLength;
  }
  const cycleS = round1(barrierStart);
  return { ...s, offsetS, cycleS, phases, out: moved(s, s.out, phases, 'servesOut'), in: moved(s, s.in, phases, 'servesIn') };
}

/**
 * The through window after the relayout: it starts where the serving phase that opened it now
 * starts, and grows or shrinks by the green changes of the serving phases it runs through.
 */
function moved(before: Signal, w: Green, after: readonly Phase[], serves: 'servesOut' | 'servesIn'): Green {
  const inside = before.phases
    .map((p, k) => ({ p, k, at: mod(p.startS - w.startS, before.cycleS) }))
    .filter(({ p, at }) => p[serves] && (at < SAME_S || at < w.greenS - SAME_S || Math.abs(at - before.cycleS) < SAME_S))
    .sort((a, b) => (a.at > before.cycleS - SAME_S ? 0 : a.at) - (b.at > before.cycleS - SAME_S ? 0 : b.at));
  const first = inside[0];
  if (!first) return w;
  let growS = 0;
  for (const { p, k } of inside) growS += after[k]!.greenS - p.greenS;
  return { ...w, startS: after[first.k]!.startS, greenS: round1(w.greenS + growS) };
}
