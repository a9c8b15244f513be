/**
 * One test per network validation rule: start from a valid network, break one
 * thing, and check the issue's exact path and the gist of its message.
 *
 * Why over 600 lines: one short test per rule of validate.ts, in the rules' order, so a rule
 * and its test are found by the same name; split, the rules' tests would sit in several files.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Issue } from '../errors.js';
import { ValidationError } from '../errors.js';
import { loadNetwork, parseNetworkText, validateNetwork, type ValidationResult } from './validate.js';
import { busPhaseNetworkJson } from '../../test/fixtures/busPhaseNetwork.js';

const ROOT = new URL('../../', import.meta.url);
const TWO_STAGE_TEXT = readFileSync(new URL('test/fixtures/networks/two-stage.json', ROOT), 'utf8');
const DEMO_TEXT = readFileSync(new URL('examples/demo-city/network.json', ROOT), 'utf8');

// The tests poke at loose JSON, so a deliberately permissive type.
type Json = any;

/** A fresh copy of the two-stage fixture (one intersection X1, through lanes only, no crosswalks). */
function twoStage(): Json {
  return JSON.parse(TWO_STAGE_TEXT);
}

/** A fresh copy of the demo city network. */
function demo(): Json {
  return JSON.parse(DEMO_TEXT);
}

/** A one-intersection network holding demo intersection I3 (ring-barrier, 8 phases, 2 rings, 2 barriers). */
function ringBarrier(): Json {
  const net = demo();
  const i3 = net.intersections.find((ix: Json) => ix.id === 'I3');
  return { formatVersion: 1, intersections: [i3] };
}

/** A copy of the fixture's intersection with fresh ids, to build multi-intersection networks. */
function secondIntersection(id: string): Json {
  const ix = twoStage().intersections[0];
  ix.id = id;
  for (const det of ix.detectors) det.id = `${id}-${det.id}`;
  return ix;
}

function issuesOf(result: ValidationResult): Issue[] {
  expect(result.ok, 'expected the network to be rejected').toBe(false);
  return result.ok ? [] : result.issues;
}

/** Asserts that some issue has exactly this path and a message containing `fragment`; returns it. */
function expectIssue(result: ValidationResult, path: string, fragment: string): Issue {
  const issues = issuesOf(result);
  const found = issues.find((i) => i.path === path && i.message.includes(fragment));
  expect(found, `no issue at ${path} containing ${JSON.stringify(fragment)}; got:\n${JSON.stringify(issues, null, 2)}`).toBeDefined();
  return found!;
}

function expectValid(result: ValidationResult): void {
  expect(result.ok ? [] : result.issues).toEqual([]);
  expect(result.ok).toBe(true);
}

const X1 = 'intersections[0]';
const STAGES = `${X1}.phasing.stages`;
const PHASES = `${X1}.phasing.phases`;

describe('base networks', () => {
  it('the two-stage fixture is valid', () => {
    expectValid(validateNetwork(twoStage()));
  });

  it('the demo city network validates with zero issues', () => {
    const result = parseNetworkText(DEMO_TEXT, 'examples/demo-city/network.json');
    expectValid(result);
    if (result.ok) expect(result.network.intersections).toHaveLength(10);
  });

  it('the ring-barrier base (demo I3 alone) is valid', () => {
    expectValid(validateNetwork(ringBarrier()));
  });

  it('applies defaults to a minimal valid network', () => {
    const result = validateNetwork(twoStage());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.network.defaults.maxCycleS).toBe(150);
    expect(result.network.links).toEqual([]);
    expect(result.network.intersections[0]!.crosswalks).toEqual([]);
  });
});

describe('movements in phases', () => {
  it('rejects an unknown movement name', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[1].protected = ['NBL2', 'NBT', 'SBT'];
    const issue = expectIssue(validateNetwork(net), `${STAGES}[1].protected[0]`, 'unknown movement "NBL2"');
    expect(issue.message).toContain('NB/SB/EB/WB');
  });

  it('rejects an unknown movement name in conflict overrides', () => {
    const net = twoStage();
    net.intersections[0].conflicts = { add: [['EBT', 'XYZ']] };
    expectIssue(validateNetwork(net), `${X1}.conflicts.add[0][1]`, 'unknown movement "XYZ"');
  });

  it('rejects a movement that has no lane', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[1].protected = ['NBT', 'SBT', 'NBL'];
    expectIssue(validateNetwork(net), `${STAGES}[1].protected[2]`, 'movement "NBL" has no lane at intersection "X1"');
  });

  it('rejects a through movement listed as permitted', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[0].protected = ['WBT'];
    net.intersections[0].phasing.stages[0].permitted = ['EBT'];
    expectIssue(validateNetwork(net), `${STAGES}[0].permitted[0]`, 'a through movement cannot be permitted');
  });

  it('rejects the same movement listed twice in one phase', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[0].protected = ['EBT', 'WBT', 'EBT'];
    expectIssue(validateNetwork(net), `${STAGES}[0].protected[2]`, 'movement "EBT" is already listed in protected');
  });

  it('rejects a movement both protected and permitted in one phase', () => {
    const net = twoStage();
    net.intersections[0].approaches[0].lanes[0].movements = ['T', 'R'];
    net.intersections[0].phasing.stages[0].protected = ['EBT', 'WBT', 'EBR'];
    net.intersections[0].phasing.stages[0].permitted = ['EBR'];
    expectIssue(validateNetwork(net), `${STAGES}[0].permitted[0]`, 'movement "EBR" is already listed in protected');
  });

  it('rejects a lane movement that no phase ever greens', () => {
    const net = twoStage();
    net.intersections[0].approaches[2].lanes[0].movements = ['L', 'T'];
    expectIssue(validateNetwork(net), STAGES, 'movement "NBL" has a lane but no phase that always runs gives it green');
  });

  it('rejects conflicting movements green together', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[0].protected = ['EBT', 'WBT', 'NBT'];
    expectIssue(validateNetwork(net), `${STAGES}[0]`, 'conflicting movements green together: "EBT" and "NBT"');
  });

  it('accepts a permitted left opposite a through, but not a permitted left across a perpendicular through', () => {
    const ok = twoStage();
    ok.intersections[0].approaches[0].lanes[0].movements = ['L', 'T'];
    ok.intersections[0].phasing.stages[0].permitted = ['EBL'];
    expectValid(validateNetwork(ok));

    const bad = twoStage();
    bad.intersections[0].approaches[0].lanes[0].movements = ['L', 'T'];
    bad.intersections[0].phasing.stages[1].permitted = ['EBL'];
    expectIssue(validateNetwork(bad), `${STAGES}[1]`, 'conflicting movements green together');
  });

  it('honours an added conflict override', () => {
    const net = twoStage();
    net.intersections[0].conflicts = { add: [['EBT', 'WBT']] };
    expectIssue(validateNetwork(net), `${STAGES}[0]`, 'conflicting movements green together: "EBT" and "WBT"');
  });

  it('rejects a phase that serves nothing', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages.push({ id: 'EMPTY', minGreenS: 5, maxGreenS: 10 });
    expectIssue(validateNetwork(net), `${STAGES}[2]`, 'phase serves no movement and no pedestrians');
  });
});

describe('pedestrians', () => {
  it('accepts a walk parallel to the protected movements', () => {
    const net = twoStage();
    net.intersections[0].crosswalks = [{ leg: 'N', lengthM: 12 }];
    net.intersections[0].phasing.stages[0].pedestrian = { crosswalks: ['N'] };
    expectValid(validateNetwork(net));
  });

  it('rejects pedestrians against a protected movement on the crosswalk leg', () => {
    const net = twoStage();
    net.intersections[0].crosswalks = [{ leg: 'E', lengthM: 12 }];
    // EBT leaves by the east leg, WBT enters from it.
    net.intersections[0].phasing.stages[0].pedestrian = { crosswalks: ['E'] };
    const result = validateNetwork(net);
    expectIssue(result, `${STAGES}[0].pedestrian.crosswalks[0]`, 'pedestrians on the E crosswalk conflict with protected movement "EBT"');
    expectIssue(result, `${STAGES}[0].pedestrian.crosswalks[0]`, 'pedestrians on the E crosswalk conflict with protected movement "WBT"');
  });

  it('rejects a walk on a leg with no crosswalk', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[0].pedestrian = { crosswalks: ['S'] };
    expectIssue(validateNetwork(net), `${STAGES}[0].pedestrian.crosswalks[0]`, 'no crosswalk on leg "S" at intersection "X1"');
  });

  it('rejects two crosswalks on one leg', () => {
    const net = twoStage();
    net.intersections[0].crosswalks = [
      { leg: 'N', lengthM: 12 },
      { leg: 'N', lengthM: 14 },
    ];
    expectIssue(validateNetwork(net), `${X1}.crosswalks[1].leg`, 'duplicate crosswalk on leg "N"');
  });

  it('rejects a phase whose pedestrian time cannot fit its max green', () => {
    const net = twoStage();
    net.intersections[0].crosswalks = [{ leg: 'N', lengthM: 40 }];
    // 7 s walk + 40 m / 1.2 m/s = 40.3 s > 20 s.
    net.intersections[0].phasing.stages[0].pedestrian = { crosswalks: ['N'], walkS: 7 };
    net.intersections[0].phasing.stages[0].maxGreenS = 20;
    const issue = expectIssue(validateNetwork(net), `${STAGES}[0].pedestrian`, 'pedestrian time cannot fit');
    expect(issue.message).toContain('maxGreenS is 20');
  });
});

describe('detectors', () => {
  it('rejects a detector on a lane that does not exist', () => {
    const net = twoStage();
    net.intersections[0].detectors[2].lane = 'NB-9';
    expectIssue(validateNetwork(net), `${X1}.detectors[2].lane`, 'detector "D-NB" is on lane "NB-9", which does not exist at intersection "X1"');
  });

  it('rejects a detector on a lane of another intersection', () => {
    const net = twoStage();
    const x2 = secondIntersection('X2');
    for (const ap of x2.approaches) for (const lane of ap.lanes) lane.id = `X2-${lane.id}`;
    for (const det of x2.detectors) det.lane = `X2-${det.lane}`;
    x2.detectors[0].lane = 'EB-1'; // exists at X1 only
    net.intersections.push(x2);
    expectIssue(validateNetwork(net), 'intersections[1].detectors[0].lane', 'which does not exist at intersection "X2"');
  });

  it('rejects an implausibly distant stop-line detector', () => {
    const net = twoStage();
    net.intersections[0].detectors[1].distanceM = 80;
    expectIssue(validateNetwork(net), `${X1}.detectors[1].distanceM`, 'use kind "advance"');
  });
});

describe('timing', () => {
  it('rejects minGreenS greater than maxGreenS', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[1].minGreenS = 50;
    net.intersections[0].phasing.stages[1].maxGreenS = 40;
    expectIssue(validateNetwork(net), `${STAGES}[1].minGreenS`, 'minGreenS 50 is greater than maxGreenS 40');
  });

  it('rejects minimum times that cannot fit maxCycleS', () => {
    const net = twoStage();
    net.intersections[0].minCycleS = 20;
    net.intersections[0].maxCycleS = 20;
    const issue = expectIssue(validateNetwork(net), `${X1}.maxCycleS`, 'longer than maxCycleS 20');
    expect(issue.message).toMatch(/need a \d+(\.\d)? s cycle/);
  });

  it('rejects an intersection minCycleS above its maxCycleS', () => {
    const net = twoStage();
    net.intersections[0].minCycleS = 120;
    net.intersections[0].maxCycleS = 90;
    expectIssue(validateNetwork(net), `${X1}.minCycleS`, 'minCycleS 120 is greater than maxCycleS 90');
  });

  it('rejects default minCycleS above maxCycleS and minYellowS above maxYellowS', () => {
    const net = twoStage();
    net.defaults = { minCycleS: 160, maxCycleS: 150, minYellowS: 7, maxYellowS: 6 };
    const result = validateNetwork(net);
    expectIssue(result, 'defaults.minCycleS', 'minCycleS 160 is greater than maxCycleS 150');
    expectIssue(result, 'defaults.minYellowS', 'minYellowS 7 is greater than maxYellowS 6');
  });

  it('checks cycle feasibility of a later intersection even when an earlier one has problems', () => {
    const net = twoStage();
    const x2 = secondIntersection('X2');
    x2.minCycleS = 20;
    x2.maxCycleS = 20;
    net.intersections.push(x2);
    net.intersections[0].detectors[0].lane = 'nope';
    const result = validateNetwork(net);
    expectIssue(result, `${X1}.detectors[0].lane`, 'does not exist');
    expectIssue(result, 'intersections[1].maxCycleS', 'longer than maxCycleS 20');
  });
});

describe('duplicate ids', () => {
  it('rejects duplicate intersection ids', () => {
    const net = twoStage();
    const copy = secondIntersection('X1');
    net.intersections.push(copy);
    expectIssue(validateNetwork(net), 'intersections[1].id', 'duplicate intersection id "X1" (first used at intersections[0])');
  });

  it('rejects duplicate lane ids within an intersection', () => {
    const net = twoStage();
    net.intersections[0].approaches[0].lanes.push({ id: 'EB-1', movements: ['T'] });
    expectIssue(validateNetwork(net), `${X1}.approaches[0].lanes[1].id`, 'duplicate lane id "EB-1" (first used at intersections[0].approaches[0].lanes[0].id)');
  });

  it('allows the same lane id at different intersections', () => {
    const net = twoStage();
    net.intersections.push(secondIntersection('X2'));
    expectValid(validateNetwork(net));
  });

  it('rejects duplicate detector ids across intersections', () => {
    const net = twoStage();
    const x2 = secondIntersection('X2');
    x2.detectors[3].id = 'D-EB';
    net.intersections.push(x2);
    expectIssue(validateNetwork(net), 'intersections[1].detectors[3].id', 'duplicate detector id "D-EB" (first used at intersections[0].detectors[0].id)');
  });

  it('rejects duplicate detector ids within an intersection', () => {
    const net = twoStage();
    net.intersections[0].detectors[1].id = 'D-EB';
    expectIssue(validateNetwork(net), `${X1}.detectors[1].id`, 'duplicate detector id "D-EB"');
  });

  it('rejects duplicate phase ids', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[1].id = 'EW';
    expectIssue(validateNetwork(net), `${STAGES}[1].id`, 'duplicate phase id "EW"');
  });

  it('rejects duplicate approach ids', () => {
    const net = twoStage();
    net.intersections[0].approaches.push({ id: 'EB', speedKph: 50, lanes: [{ id: 'EB-9', movements: ['T'] }] });
    expectIssue(validateNetwork(net), `${X1}.approaches[4].id`, 'duplicate approach id "EB"');
  });

  it('rejects duplicate link ids', () => {
    const net = twoStage();
    net.intersections.push(secondIntersection('X2'));
    net.links = [
      { id: 'L', from: 'X1', to: 'X2', lengthM: 300, designSpeedKph: 50 },
      { id: 'L', from: 'X2', to: 'X1', lengthM: 300, designSpeedKph: 50 },
    ];
    expectIssue(validateNetwork(net), 'links[1].id', 'duplicate link id "L" (first used at links[0])');
  });

  it('rejects duplicate corridor ids', () => {
    const net = twoStage();
    net.intersections.push(secondIntersection('X2'));
    net.links = [{ id: 'L', from: 'X1', to: 'X2', lengthM: 300, designSpeedKph: 50 }];
    net.corridors = [
      { id: 'C', intersections: ['X1', 'X2'] },
      { id: 'C', intersections: ['X2', 'X1'] },
    ];
    expectIssue(validateNetwork(net), 'corridors[1].id', 'duplicate corridor id "C"');
  });
});

describe('ring-barrier phasing', () => {
  it('rejects an unknown phase in a barrier', () => {
    const net = ringBarrier();
    net.intersections[0].phasing.barriers[0].rings[0] = ['1', '99', '2'];
    expectIssue(validateNetwork(net), `${X1}.phasing.barriers[0].rings[0][1]`, 'unknown phase "99"');
  });

  it('rejects a phase that is not placed in any barrier', () => {
    const net = ringBarrier();
    net.intersections[0].phasing.barriers[1].rings[1] = ['7'];
    expectIssue(validateNetwork(net), `${PHASES}[7].id`, 'phase "8" is not placed in any barrier');
  });

  it('rejects a phase placed twice', () => {
    const net = ringBarrier();
    net.intersections[0].phasing.barriers[1].rings[1] = ['7', '8', '5'];
    expectIssue(validateNetwork(net), `${X1}.phasing.barriers[1].rings[1][2]`, 'phase "5" already placed at intersections[0].phasing.barriers[0].rings[1][0]');
  });

  it('rejects barriers with different numbers of rings', () => {
    const net = ringBarrier();
    net.intersections[0].phasing.barriers[1].rings = [['3', '4', '7', '8']];
    expectIssue(validateNetwork(net), `${X1}.phasing.barriers[1].rings`, 'every barrier must have the same number of rings (2), found 1');
  });

  it('rejects conflicting phases that can run concurrently in different rings', () => {
    const net = ringBarrier();
    // Swap phases 6 (WBT) and 8 (NBT): EBT (phase 2) would then run beside NBT.
    net.intersections[0].phasing.barriers = [{ rings: [['1', '2'], ['5', '8']] }, { rings: [['3', '4'], ['7', '6']] }];
    const issue = expectIssue(validateNetwork(net), `${X1}.phasing.barriers[0]`, 'phases "2" and "8" can run together');
    expect(issue.message).toContain('conflicting movements "EBT" and "NBT"');
  });

  it('rejects concurrent phases where pedestrians cross a protected movement', () => {
    const net = ringBarrier();
    // Phase 6 (WBT, ring 2) now walks the S crosswalk, which phase 1's protected WBL (E leg -> S leg) crosses.
    net.intersections[0].phasing.phases[5].pedestrian = { crosswalks: ['S'], walkS: 7 };
    const issue = expectIssue(validateNetwork(net), `${X1}.phasing.barriers[0]`, 'phases "1" and "6" can run together');
    expect(issue.message).toContain('pedestrians on the S crosswalk and protected movement "WBL"');
  });
});

describe('links and corridors', () => {
  function twoIntersections(): Json {
    const net = twoStage();
    net.intersections.push(secondIntersection('X2'));
    net.links = [{ id: 'L12', from: 'X1', to: 'X2', lengthM: 300, designSpeedKph: 50 }];
    net.corridors = [{ id: 'C', intersections: ['X1', 'X2'] }];
    return net;
  }

  it('accepts a linked corridor', () => {
    expectValid(validateNetwork(twoIntersections()));
  });

  it('rejects a link from an unknown intersection', () => {
    const net = twoIntersections();
    net.links[0].from = 'X9';
    expectIssue(validateNetwork(net), 'links[0].from', 'unknown intersection "X9"');
  });

  it('rejects a link to an unknown intersection', () => {
    const net = twoIntersections();
    net.links[0].to = 'X9';
    expectIssue(validateNetwork(net), 'links[0].to', 'unknown intersection "X9"');
  });

  it('rejects a link that starts and ends at one intersection', () => {
    const net = twoIntersections();
    net.links.push({ id: 'L11', from: 'X1', to: 'X1', lengthM: 100, designSpeedKph: 50 });
    expectIssue(validateNetwork(net), 'links[1].to', 'cannot start and end at the same intersection "X1"');
  });

  it('rejects a corridor naming an unknown intersection', () => {
    const net = twoIntersections();
    net.corridors[0].intersections = ['X1', 'X2', 'X9'];
    expectIssue(validateNetwork(net), 'corridors[0].intersections[2]', 'unknown intersection "X9"');
  });

  it('rejects consecutive corridor intersections without a link', () => {
    const net = twoIntersections();
    net.links = [];
    expectIssue(validateNetwork(net), 'corridors[0].intersections[1]', 'no link between consecutive corridor intersections "X1" and "X2"');
  });

  it('accepts a link in the opposite direction for a corridor pair', () => {
    const net = twoIntersections();
    net.links[0] = { id: 'L21', from: 'X2', to: 'X1', lengthM: 300, designSpeedKph: 50 };
    expectValid(validateNetwork(net));
  });

  it('rejects an intersection listed twice in a corridor', () => {
    const net = twoIntersections();
    net.links.push({ id: 'L21', from: 'X2', to: 'X1', lengthM: 300, designSpeedKph: 50 });
    net.corridors[0].intersections = ['X1', 'X2', 'X1'];
    expectIssue(validateNetwork(net), 'corridors[0].intersections[2]', 'intersection "X1" appears twice in the corridor');
  });
});

describe('shape errors (zod)', () => {
  function expectNoStack(result: ValidationResult): void {
    for (const i of issuesOf(result)) {
      expect(typeof i.path).toBe('string');
      expect(i.message).not.toMatch(/\n\s+at /);
      expect(i.message).not.toMatch(/ZodError|\.ts:\d+/);
    }
  }

  it('reports a missing field by its path', () => {
    const net = twoStage();
    delete net.intersections[0].widthM;
    const result = validateNetwork(net);
    expectIssue(result, `${X1}.widthM`, '');
    expectNoStack(result);
  });

  it('reports a field of the wrong type by its path', () => {
    const net = twoStage();
    net.intersections[0].approaches[1].speedKph = 'fifty';
    const result = validateNetwork(net);
    const issue = expectIssue(result, `${X1}.approaches[1].speedKph`, '');
    expect(issue.message).toMatch(/number/);
    expectNoStack(result);
  });

  it('reports an out-of-range number by its path', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[0].minGreenS = 0;
    const result = validateNetwork(net);
    expectIssue(result, `${STAGES}[0].minGreenS`, '');
    expectNoStack(result);
  });

  it('reports an unknown field, naming it', () => {
    const net = twoStage();
    net.intersections[0].colour = 'red';
    const result = validateNetwork(net);
    expectIssue(result, X1, 'unknown field "colour"');
    expectNoStack(result);
  });

  it('reports several unknown fields in one issue', () => {
    const net = twoStage();
    net.extra1 = 1;
    net.extra2 = 2;
    expectIssue(validateNetwork(net), '', 'unknown fields "extra1", "extra2"');
  });

  it('reports a bad enum and a bad phasing type', () => {
    const net = twoStage();
    net.intersections[0].approaches[0].lanes[0].movements = ['X'];
    net.intersections[0].phasing.type = 'roundabout';
    const result = validateNetwork(net);
    expectIssue(result, `${X1}.approaches[0].lanes[0].movements[0]`, '');
    expectIssue(result, `${X1}.phasing.type`, '');
    expectNoStack(result);
  });

  it('reports a wrong format version', () => {
    const net = twoStage();
    net.formatVersion = 2;
    expectIssue(validateNetwork(net), 'formatVersion', '');
  });

  it('rejects non-object inputs without throwing', () => {
    for (const raw of [null, undefined, 42, 'net', [], true]) {
      const result = validateNetwork(raw);
      expect(result.ok).toBe(false);
      expect(issuesOf(result).length).toBeGreaterThan(0);
    }
  });

  it('reports a lane with no movements using the schema message', () => {
    const net = twoStage();
    net.intersections[0].approaches[0].lanes[0].movements = [];
    expectIssue(validateNetwork(net), `${X1}.approaches[0].lanes[0].movements`, 'a lane must serve at least one movement');
  });
});

describe('invalid JSON text', () => {
  it('gives exactly one issue whose path is the source name', () => {
    const result = parseNetworkText('{"formatVersion": 1,', 'nets/broken.json');
    const issues = issuesOf(result);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('nets/broken.json');
    expect(issues[0]!.message).toContain('not valid JSON');
  });

  it('uses "network" as the default source', () => {
    const issues = issuesOf(parseNetworkText(''));
    expect(issues).toEqual([{ path: 'network', message: expect.stringContaining('not valid JSON') }]);
  });
});

describe('collecting every problem', () => {
  it('reports all semantic problems, not just the first', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[1].protected = ['NBL2', 'NBT', 'SBT'];
    net.intersections[0].detectors[2].lane = 'NB-9';
    net.intersections[0].phasing.stages[0].minGreenS = 50;
    net.intersections[0].phasing.stages[0].maxGreenS = 40;
    const issues = issuesOf(validateNetwork(net));
    expect(issues.length).toBeGreaterThanOrEqual(3);
    const paths = issues.map((i) => i.path);
    expect(paths).toContain(`${STAGES}[1].protected[0]`);
    expect(paths).toContain(`${X1}.detectors[2].lane`);
    expect(paths).toContain(`${STAGES}[0].minGreenS`);
  });

  it('reports all shape problems, not just the first', () => {
    const net = twoStage();
    delete net.intersections[0].widthM;
    net.intersections[0].approaches[1].speedKph = 'fifty';
    net.intersections[0].colour = 'red';
    const issues = issuesOf(validateNetwork(net));
    expect(issues.length).toBeGreaterThanOrEqual(3);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([`${X1}.widthM`, `${X1}.approaches[1].speedKph`, X1]));
  });

  it('reports problems across intersections, links and corridors together', () => {
    const net = demo();
    net.intersections[0].phasing.stages[0].protected = ['EBL', 'NBT'];
    net.intersections[4].detectors[0].lane = 'nowhere';
    net.links[0].to = 'I99';
    net.corridors[0].intersections[3] = 'I99';
    const issues = issuesOf(validateNetwork(net));
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'intersections[0].phasing.stages[0]',
        'intersections[4].detectors[0].lane',
        'links[0].to',
        'corridors[0].intersections[3]',
      ]),
    );
  });

  it('loadNetwork throws one ValidationError carrying every issue', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[1].protected = ['NBL2', 'NBT', 'SBT'];
    net.intersections[0].detectors[2].lane = 'NB-9';
    net.intersections[0].phasing.stages[1].id = 'EW';
    let caught: unknown;
    try {
      loadNetwork(JSON.stringify(net), 'x.json');
    } catch (e: unknown) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const ve = caught as ValidationError;
    expect(ve.code).toBe('INVALID_INPUT');
    expect(ve.issues.length).toBe(3);
    expect(ve.message).toContain('invalid network x.json: 3 problems');
    expect(ve.message).toContain(`${STAGES}[1].protected[0]: unknown movement "NBL2"`);
  });

  it('loadNetwork returns the parsed network for valid text', () => {
    expect(loadNetwork(DEMO_TEXT).intersections.map((ix) => ix.id)).toEqual(['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8', 'I9', 'I10']);
  });
});

describe('on-demand (bus) phases', () => {
  const busStage = { id: 'BUS', protected: ['EBT'], minGreenS: 5, maxGreenS: 30, onDemand: true };

  it('accepts the demo city with a bus stage at I1 and a lagging bus left at I3', () => {
    expectValid(validateNetwork(busPhaseNetworkJson()));
  });

  it('rejects a crosswalk on an on-demand phase', () => {
    const net = twoStage();
    net.intersections[0].crosswalks = [{ leg: 'N', lengthM: 12 }];
    net.intersections[0].phasing.stages.push({ ...busStage, protected: ['NBT'], pedestrian: { crosswalks: ['N'] } });
    expectIssue(validateNetwork(net), `${STAGES}[2].pedestrian`, 'an on-demand phase cannot carry a crosswalk');
  });

  it('rejects a lane movement that only an on-demand phase greens', () => {
    const net = twoStage();
    net.intersections[0].approaches[2].lanes[0].movements = ['L', 'T'];
    net.intersections[0].phasing.stages.push({ ...busStage, protected: ['NBL', 'NBT'] });
    expectIssue(validateNetwork(net), STAGES, 'movement "NBL" has a lane but no phase that always runs gives it green (on-demand phases do not count)');
  });

  it('rejects a signal with fewer than two phases that always run', () => {
    const net = twoStage();
    net.intersections[0].phasing.stages[1].onDemand = true;
    expectIssue(validateNetwork(net), STAGES, 'only 1 of the 2 phases always run');
  });

  it('rejects a dual-ring barrier in which one ring holds only on-demand phases', () => {
    const net = ringBarrier();
    const phases = net.intersections[0].phasing.phases;
    phases.push({ id: 'B', protected: ['EBL'], minGreenS: 5, maxGreenS: 30, onDemand: true });
    net.intersections[0].phasing.barriers[0].rings[1] = ['B'];
    net.intersections[0].phasing.barriers[1].rings[1].unshift('5', '6');
    expectIssue(validateNetwork(net), 'intersections[0].phasing.barriers[0].rings[1]', 'every phase of this ring is on demand');
  });
});
