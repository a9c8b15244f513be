/**
 * SUMO signal programs to greenwave stages: each green phase of a program
 * becomes a stage (protected where a link shows `G`, permitted where only
 * `g`), identical neighbours merged; then an intersection is repaired until
 * greenwave's validator accepts it while SUMO's program stays the authority
 * (turns downgraded to permitted, else the conflict removed). Called by the
 * importer (importNet.ts) for every traffic-light junction.
 */
import { SAFETY_FLOORS } from '../../engine/safety/floors.js';
import { validateNetwork } from '../../engine/network/validate.js';
import { buildConflictTable, compatible, parseMovementId } from '../../engine/network/geometry.js';
import { clamp, round1 } from '../../engine/numeric.js';
import { attr, numAttr, type XmlNode } from './xml.js';
import type { IntersectionJson, StageJson } from './importNet.js';

/** Stages from a SUMO program, and the stage each SUMO green phase became (merged phases included). */
export function stagesFromProgram(jid: string, phases: readonly XmlNode[], movementLinks: Map<string, number[]>, notes: string[]): { stages: StageJson[]; stageOfPhase: Map<number, string> } {
  const stages: StageJson[] = [];
  const stageOfPhase = new Map<number, string>();
  phases.forEach((ph, index) => {
    const state = attr(ph, 'state') ?? '';
    if (!/[Gg]/.test(state) || /[yYu]/.test(state)) return;
    const prot: string[] = [];
    const perm: string[] = [];
    for (const [m, links] of movementLinks) {
      const chars = links.map((l) => state[l] ?? 'r');
      if (chars.includes('G')) prot.push(m);
      else if (chars.includes('g')) {
        if (m.endsWith('T')) {
          notes.push(`junction ${jid}: phase ${index}: through ${m} shows only 'g'; imported as protected`);
          prot.push(m);
        } else perm.push(m);
      }
    }
    if (prot.length + perm.length === 0) {
      notes.push(`junction ${jid}: phase ${index} greens no imported movement; ignored`);
      return;
    }
    prot.sort();
    perm.sort();
    const duration = numAttr(ph, 'duration') ?? 30;
    const minDur = numAttr(ph, 'minDur');
    const maxDur = numAttr(ph, 'maxDur');
    // A SUMO minDur below the absolute floor is raised to it (engine/safety/floors.ts), and said so.
    const minGreenS = round1(clamp(minDur ?? 5, SAFETY_FLOORS.minVehicleGreenS, 120));
    if (minDur !== undefined && minDur < SAFETY_FLOORS.minVehicleGreenS) notes.push(`junction ${jid}: phase ${index}: minDur ${minDur} s raised to the ${SAFETY_FLOORS.minVehicleGreenS} s minimum-green floor`);
    const maxGreenS = round1(clamp(Math.max(maxDur ?? Math.max(duration * 2, 60), minGreenS), SAFETY_FLOORS.minVehicleGreenS, 300));
    const stage: StageJson = { id: `P${index}`, protected: prot, permitted: perm, minGreenS, maxGreenS };
    const prev = stages[stages.length - 1];
    if (prev && sameGreens(prev, stage)) {
      notes.push(`junction ${jid}: phase ${index} greens the same movements as ${prev.id}; merged`);
      prev.maxGreenS = Math.min(300, prev.maxGreenS + maxGreenS);
      stageOfPhase.set(index, prev.id);
      return;
    }
    stages.push(stage);
    stageOfPhase.set(index, stage.id);
  });
  if (stages.length > 2 && sameGreens(stages[0]!, stages[stages.length - 1]!)) {
    const last = stages.pop()!;
    notes.push(`junction ${jid}: last stage ${last.id} repeats the first (cycle wrap); merged`);
    for (const [k, id] of stageOfPhase) if (id === last.id) stageOfPhase.set(k, stages[0]!.id);
  }
  return { stages, stageOfPhase };
}

function sameGreens(a: StageJson, b: StageJson): boolean {
  return a.protected.join() === b.protected.join() && a.permitted.join() === b.permitted.join();
}

const CONFLICT_RE = /conflicting movements green together: "(\w+)" and "(\w+)"/;
const STAGE_RE = /stages\[(\d+)\]/;
const CYCLE_RE = /need a ([\d.]+) s cycle/;

/**
 * Makes one intersection valid under greenwave's rules while keeping SUMO's
 * program: downgrade protected turns to permitted, then remove conflicts.
 * Returns the issues it could not repair.
 */
export function repairIntersection(ix: IntersectionJson, notes: string[]): string[] {
  for (let iter = 0; iter < 200; iter++) {
    const res = validateNetwork({ formatVersion: 1, intersections: [ix] });
    if (res.ok) return [];
    const issue = res.issues.find((i) => CONFLICT_RE.test(i.message) && STAGE_RE.test(i.path));
    if (issue) {
      const [, a, b] = CONFLICT_RE.exec(issue.message)!;
      const stage = ix.phasing.stages[Number(STAGE_RE.exec(issue.path)![1])]!;
      fixConflict(ix, stage, a!, b!, notes);
      continue;
    }
    const cycle = res.issues.find((i) => i.path.endsWith('maxCycleS') && CYCLE_RE.test(i.message));
    if (cycle && ix.maxCycleS === undefined) {
      const need = Math.min(SAFETY_FLOORS.maxCycleS, Math.ceil(Number(CYCLE_RE.exec(cycle.message)![1])) + 10);
      ix.maxCycleS = need;
      notes.push(`${ix.id}: minimum greens and clearances need a longer cycle than the default maximum; maxCycleS set to ${need}`);
      continue;
    }
    return res.issues.map((i) => `${i.path.replace(/^intersections\[0\]\.?/, '')}: ${i.message}`);
  }
  return ['repair did not converge'];
}

function fixConflict(ix: IntersectionJson, stage: StageJson, a: string, b: string, notes: string[]): void {
  const table = buildConflictTable(ix.conflicts);
  const ra = parseMovementId(a)!;
  const rb = parseMovementId(b)!;
  const isProt = (m: string) => stage.protected.includes(m);
  const ok = (pa: boolean, pb: boolean) => compatible(table, ra.index, pa, rb.index, pb);
  const candidates: [boolean, boolean][] = [];
  const canDowngrade = (m: string) => isProt(m) && !m.endsWith('T');
  if (canDowngrade(b)) candidates.push([!isProt(a), true]);
  if (canDowngrade(a)) candidates.push([true, !isProt(b)]);
  if (canDowngrade(a) && canDowngrade(b)) candidates.push([true, true]);
  for (const [pa, pb] of candidates) {
    if (!ok(pa, pb)) continue;
    for (const [m, permitted] of [[a, pa], [b, pb]] as const) {
      if (permitted && isProt(m)) {
        stage.protected = stage.protected.filter((x) => x !== m);
        stage.permitted = [...stage.permitted, m].sort();
        notes.push(`${ix.id}: stage ${stage.id}: ${m} downgraded from protected to permitted (conflicts with ${m === a ? b : a}, which SUMO greens with it)`);
      }
    }
    return;
  }
  ix.conflicts.remove.push([a, b]);
  notes.push(`${ix.id}: stage ${stage.id}: SUMO greens ${a} and ${b} together; conflict removed (conflicts.remove)`);
}
