/**
 * The data of a corridor's time-space diagram for the console, from a plan as
 * it stands (the one the service runs, a stored version or an operator's
 * edit): each signal's distance along the corridor, cycle and offset, its
 * outbound and inbound through-green window with the yellow and all-red after
 * it, its phases (what the editor changes), the links' lengths and design
 * speeds, and the two bands with where they sit (engine/corridor/measureBands.ts).
 * The page draws it with ECharts; nothing here is chosen or optimized. Called
 * by the console's API (./api.ts).
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { currentMovementWindow, windowClearance } from '../../engine/corridor/windows.js';
import { linkBetween, throughIndex, travelApproaches } from '../../engine/corridor/subsystems.js';
import { measureCorridorBand, type BandDetail } from '../../engine/corridor/measureBands.js';

export interface ThroughGreen {
  /** From the signal's cycle start (its offset is added to place it on the corridor's clock), s. */
  readonly startS: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly allRedS: number;
}

export interface TsdPhase {
  readonly phaseId: string;
  /** The movements it protects, from the network file (e.g. ["EBT", "WBT"]). */
  readonly protected: readonly string[];
  readonly startS: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly allRedS: number;
  readonly minGreenS: number;
  readonly maxGreenS: number;
  /** Its ring and barrier, and whether it is a plan phase protecting the outbound (inbound) through movement: the editor's preview relays greens with them (web/src/draft.ts). */
  readonly ring: number;
  readonly barrier: number;
  readonly servesOut: boolean;
  readonly servesIn: boolean;
}

export interface TsdSignal {
  readonly id: string;
  readonly name: string;
  readonly positionM: number;
  readonly cycleS: number;
  readonly offsetS: number;
  /** The approach the outbound (inbound) band travels on, e.g. "EB". */
  readonly outApproach: string;
  readonly inApproach: string;
  readonly out: ThroughGreen;
  readonly in: ThroughGreen;
  readonly phases: readonly TsdPhase[];
}

export interface TimeSpaceData {
  readonly corridorId: string;
  readonly name: string;
  readonly signals: readonly TsdSignal[];
  readonly links: readonly { readonly from: string; readonly to: string; readonly lengthM: number; readonly speedKph: number }[];
  readonly bands: BandDetail | undefined;
}

/** The diagram's data for corridor `corridorId` under plan `buf`; undefined when there is no such corridor. */
export function timeSpaceData(c: CompiledNetwork, buf: PlanBuffer, corridorId: string): TimeSpaceData | undefined {
  const cor = c.network.corridors.find((x) => x.id === corridorId);
  if (!cor) return undefined;
  const indices = cor.intersections.map((id) => c.intersectionIds.indexOf(id)).filter((i) => i >= 0);
  const { outApproach, inApproach } = travelApproaches(c, indices);
  const links: { from: string; to: string; lengthM: number; speedKph: number }[] = [];
  let positionM = 0;
  const w = new Float64Array(2);
  const window = (i: number, movement: number): ThroughGreen => {
    currentMovementWindow(c, buf, i, movement, w);
    const clear = windowClearance(c, buf, i, movement, w[0]! + w[1]!);
    return { startS: w[0]!, greenS: w[1]!, yellowS: clear.yellowS, allRedS: clear.allRedS };
  };
  const signals = indices.map((i, k): TsdSignal => {
    const outM = throughIndex(outApproach[k]!);
    const inM = throughIndex(inApproach[k]!);
    const serves = (p: number, m: number): boolean => ((c.phaseProtectedMask[p]! >> m) & 1) === 1 && c.phaseOnDemand[p] === 0;
    const id = c.intersectionIds[i]!;
    if (k > 0) {
      const from = c.intersectionIds[indices[k - 1]!]!;
      const link = linkBetween(c.network, from, id);
      positionM += link?.lengthM ?? 0;
      links.push({ from, to: id, lengthM: link?.lengthM ?? 0, speedKph: link?.designSpeedKph ?? 0 });
    }
    const ix = c.network.intersections[i]!;
    const filePhases: readonly { protected?: readonly string[] }[] = ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases;
    const phases: TsdPhase[] = [];
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      phases.push({
        phaseId: c.phaseIds[p]!,
        protected: filePhases[c.phaseFileIndex[p]!]?.protected ?? [],
        startS: buf.phaseStartS[p]!,
        greenS: buf.phaseGreenS[p]!,
        yellowS: buf.phaseYellowS[p]!,
        allRedS: buf.phaseAllRedS[p]!,
        minGreenS: c.phaseMinGreenS[p]!,
        maxGreenS: c.phaseMaxGreenS[p]!,
        ring: c.phaseRing[p]!,
        barrier: c.phaseBarrier[p]!,
        servesOut: serves(p, outM),
        servesIn: serves(p, inM),
      });
    }
    return {
      id,
      name: ix.name,
      positionM,
      cycleS: buf.cycleS[i]!,
      offsetS: buf.offsetS[i]!,
      outApproach: outApproach[k]!,
      inApproach: inApproach[k]!,
      out: window(i, outM),
      in: window(i, inM),
      phases,
    };
  });
  return { corridorId, name: cor.name ?? cor.id, signals, links, bands: measureCorridorBand(c, buf, corridorId) };
}
