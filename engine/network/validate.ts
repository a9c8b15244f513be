/**
 * Loads and validates a network file. Shape errors come from the zod schema,
 * cross-field errors (references, duplicate ids, conflicting greens, timing
 * that cannot fit) from the checks below. Every problem is collected with the
 * path of the bad field and reported together; nothing is thrown half-way.
 * Called by the CLI (`greenwave validate`, `greenwave plan`) and by anything
 * that accepts a network from outside.
 */
import type { z } from 'zod';
import { GreenwaveError, ErrorCode, IssueList, type Issue } from '../errors.js';
import { NetworkSchema, type Network, type Intersection, type Phase, type Defaults } from './schema.js';
import { buildConflictTable, compatible, legIndex, movementId, movementUsesLeg, parseMovementId } from './geometry.js';
import { phaseClearances, phaseConflictReason, phaseMinGreenS, allPhases } from './phaseTiming.js';

/** Conflict masks are one Uint32 per phase (see compile.ts). */
export const MAX_PHASES_PER_INTERSECTION = 32;

export type ValidationResult = { ok: true; network: Network } | { ok: false; issues: Issue[] };

/** Parses JSON text and validates it; never throws for bad input. */
export function parseNetworkText(text: string, source = 'network'): ValidationResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e: unknown) {
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, issues: [{ path: source, message: `not valid JSON: ${msg}` }] };
  }
  return validateNetwork(raw);
}

/** Validates an already-parsed value against the schema and the semantic rules. */
export function validateNetwork(raw: unknown): ValidationResult {
  const parsed = NetworkSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.map(zodIssue) };
  const issues = new IssueList();
  checkNetwork(parsed.data, issues);
  return issues.length > 0 ? { ok: false, issues: issues.items } : { ok: true, network: parsed.data };
}

/** Like `validateNetwork` but throws one ValidationError with every issue. */
export function loadNetwork(text: string, source = 'network'): Network {
  const result = parseNetworkText(text, source);
  if (!result.ok) {
    const list = new IssueList();
    for (const i of result.issues) list.add(i.path, i.message);
    list.throwIfAny(`invalid network ${source}`);
    throw new GreenwaveError(ErrorCode.Internal, 'unreachable');
  }
  return result.network;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function zodIssue(issue: z.core.$ZodIssue): Issue {
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return { path: formatPath(issue.path), message };
}

function checkDuplicates(items: readonly { id: string }[], path: string, what: string, issues: IssueList): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const first = seen.get(item.id);
    if (first !== undefined) issues.add(`${path}[${i}].id`, `duplicate ${what} id "${item.id}" (first used at ${path}[${first}])`);
    else seen.set(item.id, i);
  });
}

function checkNetwork(net: Network, issues: IssueList): void {
  const d = net.defaults;
  if (d.minCycleS > d.maxCycleS) issues.add('defaults.minCycleS', `minCycleS ${d.minCycleS} is greater than maxCycleS ${d.maxCycleS}`);
  if (d.minYellowS > d.maxYellowS) issues.add('defaults.minYellowS', `minYellowS ${d.minYellowS} is greater than maxYellowS ${d.maxYellowS}`);
  checkDuplicates(net.intersections, 'intersections', 'intersection', issues);
  checkDuplicates(net.links, 'links', 'link', issues);
  checkDuplicates(net.corridors, 'corridors', 'corridor', issues);

  // Detector ids are global: the counts file names detectors without their intersection.
  const detectorSeen = new Map<string, string>();
  net.intersections.forEach((ix, i) => {
    ix.detectors.forEach((det, k) => {
      const path = `intersections[${i}].detectors[${k}].id`;
      const first = detectorSeen.get(det.id);
      if (first !== undefined) issues.add(path, `duplicate detector id "${det.id}" (first used at ${first})`);
      else detectorSeen.set(det.id, path);
    });
    checkIntersection(ix, `intersections[${i}]`, d, issues);
  });

  const ixIndex = new Map(net.intersections.map((ix, i) => [ix.id, i]));
  const linked = new Set<string>();
  net.links.forEach((link, i) => {
    if (!ixIndex.has(link.from)) issues.add(`links[${i}].from`, `unknown intersection "${link.from}"`);
    if (!ixIndex.has(link.to)) issues.add(`links[${i}].to`, `unknown intersection "${link.to}"`);
    if (link.from === link.to) issues.add(`links[${i}].to`, `a link cannot start and end at the same intersection "${link.to}"`);
    const lo = link.minSpeedKph ?? link.designSpeedKph * 0.9;
    const hi = link.maxSpeedKph ?? link.designSpeedKph * 1.1;
    if (lo > hi) issues.add(`links[${i}].minSpeedKph`, `minSpeedKph ${lo} is greater than maxSpeedKph ${hi}`);
    linked.add(`${link.from}\u0000${link.to}`);
  });
  net.corridors.forEach((cor, i) => {
    const seen = new Set<string>();
    cor.intersections.forEach((id, k) => {
      const path = `corridors[${i}].intersections[${k}]`;
      if (!ixIndex.has(id)) issues.add(path, `unknown intersection "${id}"`);
      if (seen.has(id)) issues.add(path, `intersection "${id}" appears twice in the corridor`);
      seen.add(id);
      const prev = k > 0 ? cor.intersections[k - 1] : undefined;
      if (prev !== undefined && !linked.has(`${prev}\u0000${id}`) && !linked.has(`${id}\u0000${prev}`)) {
        issues.add(path, `no link between consecutive corridor intersections "${prev}" and "${id}"`);
      }
    });
  });
}

function checkIntersection(ix: Intersection, path: string, d: Defaults, issues: IssueList): void {
  // The list is shared by the whole network: count only this intersection's issues below.
  const issuesBefore = issues.length;
  checkDuplicates(ix.approaches, `${path}.approaches`, 'approach', issues);
  const minCycleS = ix.minCycleS ?? d.minCycleS;
  const maxCycleS = ix.maxCycleS ?? d.maxCycleS;
  if (minCycleS > maxCycleS) issues.add(`${path}.minCycleS`, `minCycleS ${minCycleS} is greater than maxCycleS ${maxCycleS}`);

  const served = new Set<number>();
  const laneIds = new Map<string, string>();
  ix.approaches.forEach((ap, a) => {
    ap.lanes.forEach((lane, l) => {
      const lp = `${path}.approaches[${a}].lanes[${l}]`;
      const first = laneIds.get(lane.id);
      if (first !== undefined) issues.add(`${lp}.id`, `duplicate lane id "${lane.id}" (first used at ${first})`);
      else laneIds.set(lane.id, `${lp}.id`);
      const turns = new Set<string>();
      lane.movements.forEach((turn, m) => {
        if (turns.has(turn)) issues.add(`${lp}.movements[${m}]`, `movement "${turn}" listed twice`);
        turns.add(turn);
        const ref = parseMovementId(`${ap.id}${turn}`);
        if (ref) served.add(ref.index);
      });
    });
  });

  ix.detectors.forEach((det, k) => {
    if (!laneIds.has(det.lane)) issues.add(`${path}.detectors[${k}].lane`, `detector "${det.id}" is on lane "${det.lane}", which does not exist at intersection "${ix.id}"`);
    if (det.kind === 'stopLine' && det.distanceM > 30) issues.add(`${path}.detectors[${k}].distanceM`, `a stop-line detector ${det.distanceM} m upstream is implausible (at most 30 m); use kind "advance"`);
  });

  const crosswalkLegs = new Set<string>();
  ix.crosswalks.forEach((cw, k) => {
    if (crosswalkLegs.has(cw.leg)) issues.add(`${path}.crosswalks[${k}].leg`, `duplicate crosswalk on leg "${cw.leg}"`);
    crosswalkLegs.add(cw.leg);
  });

  const overridePaths: Array<['add' | 'remove', readonly (readonly [string, string])[]]> = [
    ['add', ix.conflicts.add],
    ['remove', ix.conflicts.remove],
  ];
  for (const [kind, pairs] of overridePaths) {
    pairs.forEach((pair, k) => {
      pair.forEach((m, j) => {
        if (!parseMovementId(m)) issues.add(`${path}.conflicts.${kind}[${k}][${j}]`, `unknown movement "${m}"`);
      });
    });
  }
  const table = buildConflictTable(ix.conflicts);

  const phasesPath = ix.phasing.type === 'stages' ? `${path}.phasing.stages` : `${path}.phasing.phases`;
  const phases = allPhases(ix);
  checkDuplicates(phases, phasesPath, 'phase', issues);
  if (phases.length > MAX_PHASES_PER_INTERSECTION) issues.add(phasesPath, `${phases.length} phases; at most ${MAX_PHASES_PER_INTERSECTION} are supported per intersection`);
  const everGreen = new Set<number>();
  phases.forEach((ph, p) => {
    const pp = `${phasesPath}[${p}]`;
    const greens: Array<{ index: number; permitted: boolean }> = [];
    const listed = new Map<number, string>();
    const collect = (list: readonly string[], field: 'protected' | 'permitted'): void => {
      list.forEach((name, m) => {
        const mp = `${pp}.${field}[${m}]`;
        const ref = parseMovementId(name);
        if (!ref) return issues.add(mp, `unknown movement "${name}" (expected approach NB/SB/EB/WB + turn L/T/R/U, e.g. "NBL")`);
        if (!served.has(ref.index)) return issues.add(mp, `movement "${name}" has no lane at intersection "${ix.id}"`);
        if (listed.has(ref.index)) return issues.add(mp, `movement "${name}" is already listed in ${listed.get(ref.index)}`);
        if (field === 'permitted' && ref.turn === 'T') return issues.add(mp, `a through movement cannot be permitted; list "${name}" as protected`);
        listed.set(ref.index, field);
        greens.push({ index: ref.index, permitted: field === 'permitted' });
        if (!ph.onDemand) everGreen.add(ref.index);
      });
    };
    collect(ph.protected, 'protected');
    collect(ph.permitted, 'permitted');
    if (ph.protected.length === 0 && ph.permitted.length === 0 && !ph.pedestrian) issues.add(pp, 'phase serves no movement and no pedestrians');
    for (let i = 0; i < greens.length; i++) {
      for (let j = i + 1; j < greens.length; j++) {
        const a = greens[i]!;
        const b = greens[j]!;
        if (!compatible(table, a.index, a.permitted, b.index, b.permitted)) {
          issues.add(pp, `conflicting movements green together: "${movementId(a.index)}" and "${movementId(b.index)}"`);
        }
      }
    }
    if (ph.minGreenS > ph.maxGreenS) issues.add(`${pp}.minGreenS`, `minGreenS ${ph.minGreenS} is greater than maxGreenS ${ph.maxGreenS}`);
    // Pedestrians cannot call a bus phase: a crosswalk on one would wait until a bus came.
    if (ph.onDemand && ph.pedestrian) issues.add(`${pp}.pedestrian`, 'an on-demand phase cannot carry a crosswalk: pedestrians would wait until a bus calls the phase');
    if (ph.pedestrian) {
      ph.pedestrian.crosswalks.forEach((leg, k) => {
        if (!crosswalkLegs.has(leg)) return issues.add(`${pp}.pedestrian.crosswalks[${k}]`, `no crosswalk on leg "${leg}" at intersection "${ix.id}"`);
        for (const g of greens) {
          if (!g.permitted && movementUsesLeg(g.index, legIndex(leg))) {
            issues.add(`${pp}.pedestrian.crosswalks[${k}]`, `pedestrians on the ${leg} crosswalk conflict with protected movement "${movementId(g.index)}"; make it permitted (turning traffic yields) or move the walk`);
          }
        }
      });
      const pedS = phaseMinGreenS(ph, ix, d);
      if (pedS > ph.maxGreenS) {
        issues.add(`${pp}.pedestrian`, `pedestrian time cannot fit: walk + clearance needs ${pedS.toFixed(1)} s of green but maxGreenS is ${ph.maxGreenS}`);
      }
    }
  });
  for (const m of served) {
    if (!everGreen.has(m)) issues.add(phasesPath, `movement "${movementId(m)}" has a lane but no phase that always runs gives it green (on-demand phases do not count)`);
  }
  const regular = phases.filter((ph) => !ph.onDemand).length;
  if (phases.length >= 2 && regular < 2) issues.add(phasesPath, `only ${regular} of the ${phases.length} phases always run; a signal needs at least two that are not on demand`);

  if (ix.phasing.type === 'ringBarrier') checkRings(ix, phases, table, path, issues);
  // Skip timing only when this intersection itself is broken; others' problems must not hide its own.
  if (issues.length > issuesBefore) return;

  // Timing feasibility: the minimum phase times (with clearances) must fit the maximum cycle.
  const clear = phaseClearances(ix, d);
  const rings = ringStructure(ix, phases);
  let minCycleNeed = 0;
  for (const barrier of rings) {
    let worst = 0;
    for (const ring of barrier) {
      let sum = 0;
      for (const p of ring) if (!phases[p]!.onDemand) sum += phaseMinGreenS(phases[p]!, ix, d) + clear.yellowS[p]! + clear.allRedS[p]!;
      worst = Math.max(worst, sum);
    }
    minCycleNeed += worst;
  }
  // Controllers run whole-second cycles: the planner rounds the cycle up, so the rounded need must fit.
  if (Math.ceil(minCycleNeed - 1e-9) > maxCycleS) {
    issues.add(`${path}.maxCycleS`, `minimum greens, pedestrian times and clearances need a ${minCycleNeed.toFixed(1)} s cycle, longer than maxCycleS ${maxCycleS}`);
  }
}

/** Phase indices grouped [barrier][ring][order]; stages are one ring, one barrier per stage. */
export function ringStructure(ix: Intersection, phases: readonly Phase[]): number[][][] {
  if (ix.phasing.type === 'stages') return phases.map((_, p) => [[p]]);
  const index = new Map(phases.map((p, i) => [p.id, i]));
  return ix.phasing.barriers.map((b) => b.rings.map((ring) => ring.map((id) => index.get(id) ?? -1)));
}

function checkRings(ix: Intersection, phases: readonly Phase[], table: Uint8Array, path: string, issues: IssueList): void {
  if (ix.phasing.type !== 'ringBarrier') return;
  const index = new Map(phases.map((p, i) => [p.id, i]));
  const used = new Map<string, string>();
  const ringCount = ix.phasing.barriers[0]?.rings.length ?? 0;
  ix.phasing.barriers.forEach((b, bi) => {
    if (b.rings.length !== ringCount) issues.add(`${path}.phasing.barriers[${bi}].rings`, `every barrier must have the same number of rings (${ringCount}), found ${b.rings.length}`);
    b.rings.forEach((ring, ri) => {
      ring.forEach((id, k) => {
        const rp = `${path}.phasing.barriers[${bi}].rings[${ri}][${k}]`;
        if (!index.has(id)) return issues.add(rp, `unknown phase "${id}"`);
        if (used.has(id)) return issues.add(rp, `phase "${id}" already placed at ${used.get(id)}`);
        used.set(id, rp);
      });
      // Rings meet at every barrier: a ring whose phases are all skipped would have no time to fill.
      const known = ring.filter((id) => index.has(id));
      if (b.rings.length > 1 && known.length > 0 && known.every((id) => phases[index.get(id)!]!.onDemand)) {
        issues.add(`${path}.phasing.barriers[${bi}].rings[${ri}]`, 'every phase of this ring is on demand; with other rings beside it, it needs one that always runs');
      }
    });
    // Phases in different rings of one barrier can be green at the same time.
    for (let r1 = 0; r1 < b.rings.length; r1++) {
      for (let r2 = r1 + 1; r2 < b.rings.length; r2++) {
        for (const id1 of b.rings[r1]!) {
          for (const id2 of b.rings[r2]!) {
            const p1 = index.get(id1);
            const p2 = index.get(id2);
            if (p1 === undefined || p2 === undefined) continue;
            const why = phaseConflictReason(phases[p1]!, phases[p2]!, table);
            if (why) issues.add(`${path}.phasing.barriers[${bi}]`, `phases "${id1}" and "${id2}" can run together but would green ${why}`);
          }
        }
      }
    }
  });
  phases.forEach((p, i) => {
    if (!used.has(p.id)) issues.add(`${path}.phasing.phases[${i}].id`, `phase "${p.id}" is not placed in any barrier`);
  });
}
