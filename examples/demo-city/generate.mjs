#!/usr/bin/env node
/**
 * Deterministic generator for the bundled demo city (Renmin Road, 人民路, a
 * Hangzhou-like arterial). Writes, next to this file:
 *
 *   network.json  formatVersion 1 network (see engine/network/schema.ts)
 *   counts.csv    one weekday (2026-11-24) of 15-minute loop-detector counts
 *                 for every detector; interval_start is local wall time
 *                 (Asia/Shanghai) as `YYYY-MM-DDTHH:MM`, the engine's format
 *
 * Run:  node examples/demo-city/generate.mjs
 *
 * Everything random comes from a seeded mulberry32 PRNG (SEED below), so the
 * outputs are byte-for-byte reproducible. Math.random is never used.
 *
 * Why over 600 lines: the city's data (intersections, lanes, phases, loops, demand profiles)
 * is written out here as one reproducible description, read top to bottom; it is run by hand,
 * not imported, and splitting it would only scatter that description.
 *
 * Network: 10 signalised intersections.
 *   I1..I8  Renmin Rd (east–west arterial, 8 intersections, 300–650 m apart),
 *           corridor "renmin-rd" in west→east order, links both ways.
 *   I9, I10 two isolated intersections elsewhere in town.
 *
 * INJECTED DETECTOR FAULTS in counts.csv (for the fault detector to find):
 *   1. Dead loop:     I3-WB-2-S (stop line, WB through lane) reports volume 0 and
 *                     occupancy 0.0 for 10:00–14:00 (16 intervals, 10:00..13:45)
 *                     while I3-WB-3-S and its own advance loop I3-WB-2-A flow.
 *   2. Stuck on:      I6-NB-2-S (stop line, NB through lane) reports occupancy
 *                     100.0 with volume 0–1 for 5 intervals, 15:00..16:00.
 *   3. Chattering:    I4-EB-2-S (stop line, EB through lane) adds ~520 spurious
 *                     pulses per interval, about 4-5x its physical volume, for
 *                     3 intervals, 08:00..08:30: over 2,400 veh/h on one lane,
 *                     which engine/counts/faults.ts flags (a plain 3x of a
 *                     ~150 veh/15 min lane would stay under that threshold).
 *   4. Missing rows:  3 rows omitted: I1-SB-1-S @ 02:15, I4-WB-3-A @ 12:30,
 *                     I8-NB-2-S @ 19:45.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SEED = 20261124;
const DATE = '2026-11-24';

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------
function mulberry32(a) {
  return function next() {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
let spareNormal = null;
function normal() {
  if (spareNormal !== null) {
    const v = spareNormal;
    spareNormal = null;
    return v;
  }
  let u = 0;
  while (u === 0) u = rand();
  const v = rand();
  const r = Math.sqrt(-2 * Math.log(u));
  spareNormal = r * Math.sin(2 * Math.PI * v);
  return r * Math.cos(2 * Math.PI * v);
}
function poisson(lambda) {
  if (lambda <= 0) return 0;
  if (lambda < 30) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rand();
    while (p > limit) {
      k++;
      p *= rand();
    }
    return k;
  }
  return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal()));
}
const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------------------
// Geometry helpers (right-hand traffic)
// ---------------------------------------------------------------------------
/** Leg a movement arrives from, by approach (direction of travel). */
const ENTRY_LEG = { NB: 'S', SB: 'N', EB: 'W', WB: 'E' };
/** Leg a movement leaves by, by approach and turn. */
const EXIT_LEG = {
  NB: { L: 'W', T: 'N', R: 'E' },
  SB: { L: 'E', T: 'S', R: 'W' },
  EB: { L: 'N', T: 'E', R: 'S' },
  WB: { L: 'S', T: 'W', R: 'N' },
};
/**
 * Points around the intersection, clockwise from the north-west corner. In
 * right-hand traffic, each leg's inbound half comes first clockwise.
 */
const RIM = { Nin: 0, Nout: 1, Ein: 2, Eout: 3, Sin: 4, Sout: 5, Win: 6, Wout: 7 };
function path(mv) {
  const ap = mv.slice(0, 2);
  const turn = mv.slice(2);
  const exit = EXIT_LEG[ap][turn];
  return { entry: ENTRY_LEG[ap], exit, a: RIM[`${ENTRY_LEG[ap]}in`], b: RIM[`${exit}out`] };
}
/** Geometric vehicle–vehicle conflict: paths cross, or merge onto the same exit leg. */
function vehiclesConflict(m1, m2) {
  if (m1.slice(0, 2) === m2.slice(0, 2)) return false; // same approach: diverge only
  const p = path(m1);
  const q = path(m2);
  if (p.exit === q.exit) return true;
  const [a1, b1] = [Math.min(p.a, p.b), Math.max(p.a, p.b)];
  const inside = (x) => x > a1 && x < b1;
  return inside(q.a) !== inside(q.b);
}
function pedConflict(mv, leg) {
  const p = path(mv);
  return p.entry === leg || p.exit === leg;
}

// ---------------------------------------------------------------------------
// Time-of-day demand profiles
// ---------------------------------------------------------------------------
const gauss = (t, mu, s) => Math.exp(-0.5 * ((t - mu) / s) ** 2);
const logistic = (x) => 1 / (1 + Math.exp(-x));
/** Daytime envelope: wakes up 06:00–07:00, winds down 20:30–23:00. */
const envelope = (t) => logistic((t - 6.4) / 0.45) * logistic((21.6 - t) / 0.9);
function rawProfile(t, am, pm) {
  return 0.035 + 0.55 * envelope(t) + 0.07 * gauss(t, 12.0, 0.6) + am * gauss(t, 8.2, 0.55) + pm * gauss(t, 18.0, 0.7);
}
/** Peak weights per direction: AM eastbound into town, PM westbound home. */
const PEAKS = { EB: [0.44, 0.2], WB: [0.2, 0.44], NB: [0.34, 0.26], SB: [0.26, 0.34] };
const PROFILE_MAX = {};
for (const [dir, [am, pm]] of Object.entries(PEAKS)) {
  let mx = 0;
  for (let t = 0; t < 24; t += 1 / 60) mx = Math.max(mx, rawProfile(t, am, pm));
  PROFILE_MAX[dir] = mx;
}
/** Fraction (0..1] of the movement's design-hour volume flowing at time t (hours). */
const profile = (dir, t) => rawProfile(t, ...PEAKS[dir]) / PROFILE_MAX[dir];

// ---------------------------------------------------------------------------
// Intersection specifications
// ---------------------------------------------------------------------------
// Lanes are written innermost (left) first: "L,T,TR" = EB-1 [L], EB-2 [T], EB-3 [T,R].
// turns: [left share, right share] of the arterial traffic arriving on EB / WB.
// side: design-hour volumes (veh/h) of the side-street movements.
const ARTERIAL = [
  {
    id: 'I1', cross: 'Xinhua St', zh: '新华街', widthM: 30, plan: 'stages3',
    lanes: { EB: 'L,T,TR', WB: 'L,T,TR', NB: 'LT,TR', SB: 'LT,TR' },
    speed: { EB: 50, WB: 50 }, grade: {}, cw: { N: 13, S: 12.5, E: 21.5, W: 22 }, adv: 80, stop: 3,
    turns: { EB: [0.13, 0.09], WB: [0.14, 0.1] },
    side: { NBL: 70, NBT: 250, NBR: 90, SBL: 60, SBT: 230, SBR: 80 },
  },
  {
    id: 'I2', cross: 'Jiefang St', zh: '解放街', widthM: 34, plan: 'stages4',
    lanes: { EB: 'L,T,T,R', WB: 'L,T,T,R', NB: 'L,T,TR', SB: 'L,T,TR' },
    speed: { EB: 50, WB: 50 }, grade: { EB: -2, WB: 2 }, cw: { N: 15, S: 15, E: 25.5, W: 25.5 }, adv: 90, stop: 3,
    turns: { EB: [0.13, 0.1], WB: [0.13, 0.11] },
    side: { NBL: 160, NBT: 380, NBR: 120, SBL: 150, SBT: 350, SBR: 110 },
  },
  {
    id: 'I3', cross: 'Zhongshan Rd', zh: '中山路', widthM: 38, plan: 'ringBarrier',
    lanes: { EB: 'L,T,T,TR', WB: 'L,T,T,TR', NB: 'L,T,TR', SB: 'L,T,TR' },
    speed: { EB: 60, WB: 60 }, grade: {}, cw: { N: 15, S: 14.5, E: 27.5, W: 28 }, adv: 120, stop: 4,
    turns: { EB: [0.11, 0.1], WB: [0.11, 0.09] },
    side: { NBL: 190, NBT: 520, NBR: 170, SBL: 170, SBT: 480, SBR: 150 },
  },
  {
    id: 'I4', cross: 'Wenhua St', zh: '文化街', widthM: 28, plan: 'stages3',
    lanes: { EB: 'L,T,TR', WB: 'L,T,TR', NB: 'LTR', SB: 'LTR' },
    speed: { EB: 60, WB: 60 }, grade: {}, cw: { N: 10, S: 10.5, E: 21, W: 21.5 }, adv: 100, stop: 3,
    turns: { EB: [0.1, 0.06], WB: [0.11, 0.06] },
    side: { NBL: 40, NBT: 110, NBR: 60, SBL: 35, SBT: 100, SBR: 55 },
  },
  {
    id: 'I5', cross: 'Heping St', zh: '和平街', widthM: 30, plan: 'stages2',
    lanes: { EB: 'L,T,TR', WB: 'L,T,TR', NB: 'LT,TR', SB: 'LT,TR' },
    speed: { EB: 60, WB: 60 }, grade: {}, cw: { N: 12, S: 12, E: 22, W: 22 }, adv: 100, stop: 2.5,
    turns: { EB: [0.065, 0.055], WB: [0.06, 0.055] },
    side: { NBL: 60, NBT: 200, NBR: 80, SBL: 55, SBT: 180, SBR: 70 },
  },
  {
    id: 'I6', cross: 'Jianguo Rd', zh: '建国路', widthM: 36, plan: 'ringBarrier',
    lanes: { EB: 'L,T,T,R', WB: 'L,T,T,TR', NB: 'L,T,TR', SB: 'L,T,TR' },
    speed: { EB: 60, WB: 60 }, grade: {}, cw: { N: 15.5, S: 15, E: 27, W: 26.5 }, adv: 110, stop: 4,
    turns: { EB: [0.13, 0.11], WB: [0.13, 0.1] },
    side: { NBL: 180, NBT: 480, NBR: 140, SBL: 200, SBT: 450, SBR: 120 },
  },
  {
    id: 'I7', cross: 'Qingnian St', zh: '青年街', widthM: 32, plan: 'stages4',
    lanes: { EB: 'L,T,TR', WB: 'L,T,T,R', NB: 'L,TR', SB: 'L,TR' },
    speed: { EB: 50, WB: 50 }, grade: { EB: 3, WB: -3 }, cw: { N: 11.5, S: 11.5, E: 24.5, W: 22 }, adv: 70, stop: 3,
    turns: { EB: [0.13, 0.1], WB: [0.12, 0.1] },
    side: { NBL: 150, NBT: 230, NBR: 100, SBL: 140, SBT: 210, SBR: 90 },
  },
  {
    id: 'I8', cross: 'Dongfeng St', zh: '东风街', widthM: 30, plan: 'stages3',
    lanes: { EB: 'L,T,TR', WB: 'L,T,TR', NB: 'LT,TR', SB: 'LT,TR' },
    speed: { EB: 50, WB: 50 }, grade: {}, cw: { N: 13, S: 13, E: 21, W: 21 }, adv: 60, stop: 3,
    turns: { EB: [0.14, 0.1], WB: [0.16, 0.11] },
    side: { NBL: 80, NBT: 240, NBR: 90, SBL: 75, SBT: 260, SBR: 85 },
  },
];
/** Spacing between consecutive arterial intersections (m), west to east. */
const SPACING = [410, 355, 620, 480, 310, 545, 455];
/** Small bearing changes (degrees north of east) so the road is not a ruler line. */
const BEARING = [0.6, 0.9, 0.3, -0.4, -1.0, -0.5, 0.2];
/**
 * Arterial design-hour flow (veh/h, all turns) arriving at each intersection, west to east.
 * The difference to what left the upstream intersection is mid-block access
 * (driveways, unsignalised lanes, parking); the generator prints the ratio with --report.
 */
const EB_ARRIVING = [1300, 1380, 1600, 1450, 1400, 1700, 1380, 1200];
const WB_ARRIVING = [1180, 1450, 1560, 1450, 1420, 1500, 1330, 1320];

const ISOLATED = [
  {
    id: 'I9', name: 'Chaoyang Rd / Xingfu St 朝阳路/幸福街', widthM: 22, plan: 'stages2',
    position: { lon: 120.16238, lat: 30.28641 },
    lanes: { EB: 'LT,TR', WB: 'LT,TR', NB: 'LTR', SB: 'LTR' },
    speed: { EB: 50, WB: 50, NB: 40, SB: 40 }, grade: { NB: 2, SB: -2 }, cw: { N: 10, S: 10, E: 15, W: 15 }, stop: 3,
    volumes: { EBL: 60, EBT: 420, EBR: 70, WBL: 55, WBT: 400, WBR: 65, NBL: 40, NBT: 150, NBR: 45, SBL: 35, SBT: 140, SBR: 50 },
  },
  {
    id: 'I10', name: 'Xueyuan Rd / Guangming St 学院路/光明街', widthM: 30, plan: 'stages3ns',
    position: { lon: 120.12764, lat: 30.25712 },
    lanes: { EB: 'LT,TR', WB: 'LT,TR', NB: 'L,T,TR', SB: 'L,T,TR' },
    speed: { EB: 40, WB: 40, NB: 50, SB: 50 }, grade: {}, cw: { N: 22.5, S: 22.5, E: 13, W: 13 }, stop: 3,
    volumes: { EBL: 50, EBT: 260, EBR: 60, WBL: 55, WBT: 240, WBR: 55, NBL: 170, NBT: 820, NBR: 110, SBL: 160, SBT: 760, SBR: 100 },
  },
];

// ---------------------------------------------------------------------------
// Arterial volumes by flow continuity along Renmin Rd
// ---------------------------------------------------------------------------
function arterialVolumes() {
  const vol = ARTERIAL.map((ix, k) => {
    const v = { ...ix.side };
    for (const [dir, arriving] of [['EB', EB_ARRIVING[k]], ['WB', WB_ARRIVING[k]]]) {
      const [l, r] = ix.turns[dir];
      v[`${dir}L`] = Math.round(arriving * l);
      v[`${dir}R`] = Math.round(arriving * r);
      v[`${dir}T`] = arriving - v[`${dir}L`] - v[`${dir}R`];
    }
    return v;
  });
  // Mid-block gain/loss: arriving downstream / leaving upstream (EB: T + NBR + SBL; WB: T + SBR + NBL).
  const midblock = [];
  for (let k = 0; k + 1 < vol.length; k++) {
    const eb = EB_ARRIVING[k + 1] / (vol[k].EBT + vol[k].NBR + vol[k].SBL);
    const wb = WB_ARRIVING[k] / (vol[k + 1].WBT + vol[k + 1].SBR + vol[k + 1].NBL);
    midblock.push(`${ARTERIAL[k].id}-${ARTERIAL[k + 1].id} EB x${eb.toFixed(2)} WB x${wb.toFixed(2)}`);
  }
  return { vol, midblock };
}

// ---------------------------------------------------------------------------
// Network construction
// ---------------------------------------------------------------------------
const APPROACH_ORDER = ['EB', 'WB', 'NB', 'SB'];
const LEG_ORDER = ['N', 'E', 'S', 'W'];

function parseLanes(spec) {
  return spec.split(',').map((s) => [...s]);
}
function laneWidth(turns, nLanes) {
  if (nLanes === 1) return 3.5;
  if (turns.length === 1 && turns[0] === 'L') return 3.0;
  return 3.25;
}

function buildApproaches(ix) {
  return APPROACH_ORDER.map((ap) => {
    const lanes = parseLanes(ix.lanes[ap]);
    return {
      id: ap,
      speedKph: ix.speed[ap] ?? 40,
      gradePercent: ix.grade[ap] ?? 0,
      lanes: lanes.map((turns, i) => ({ id: `${ap}-${i + 1}`, movements: turns, widthM: laneWidth(turns, lanes.length) })),
    };
  });
}

function buildDetectors(ix, approaches, advanceApproaches) {
  const dets = [];
  for (const ap of approaches) {
    for (const lane of ap.lanes) {
      dets.push({ id: `${ix.id}-${lane.id}-S`, lane: lane.id, kind: 'stopLine', distanceM: ix.stop });
    }
    if (advanceApproaches.includes(ap.id)) {
      for (const lane of ap.lanes) {
        if (lane.movements.includes('T')) dets.push({ id: `${ix.id}-${lane.id}-A`, lane: lane.id, kind: 'advance', distanceM: ix.adv });
      }
    }
  }
  return dets;
}

function buildPhasing(plan, served) {
  const has = (m) => served.has(m);
  const only = (ms) => ms.filter(has);
  const phase = (id, prot, perm, minGreenS, maxGreenS, peds) => {
    const p = { id, protected: only(prot), permitted: only(perm), minGreenS, maxGreenS };
    if (peds) p.pedestrian = { crosswalks: peds, walkS: 7 };
    return p;
  };
  switch (plan) {
    case 'stages2':
      return {
        type: 'stages',
        stages: [
          phase('S1', ['EBT', 'WBT'], ['EBL', 'WBL', 'EBR', 'WBR'], 12, 60, ['N', 'S']),
          phase('S2', ['NBT', 'SBT'], ['NBL', 'SBL', 'NBR', 'SBR'], 10, 40, ['E', 'W']),
        ],
      };
    case 'stages3':
      return {
        type: 'stages',
        stages: [
          phase('S1', ['EBL', 'WBL'], [], 6, 40),
          phase('S2', ['EBT', 'WBT'], ['EBR', 'WBR'], 12, 60, ['N', 'S']),
          phase('S3', ['NBT', 'SBT'], ['NBL', 'SBL', 'NBR', 'SBR'], 10, 45, ['E', 'W']),
        ],
      };
    case 'stages4':
      return {
        type: 'stages',
        stages: [
          phase('S1', ['EBL', 'WBL'], [], 6, 40),
          phase('S2', ['EBT', 'WBT'], ['EBR', 'WBR'], 13, 65, ['N', 'S']),
          phase('S3', ['NBL', 'SBL'], [], 5, 40),
          phase('S4', ['NBT', 'SBT'], ['NBR', 'SBR'], 10, 45, ['E', 'W']),
        ],
      };
    case 'stages3ns':
      return {
        type: 'stages',
        stages: [
          phase('S1', ['NBL', 'SBL'], [], 6, 40),
          phase('S2', ['NBT', 'SBT'], ['NBR', 'SBR'], 12, 60, ['E', 'W']),
          phase('S3', ['EBT', 'WBT'], ['EBL', 'WBL', 'EBR', 'WBR'], 10, 40, ['N', 'S']),
        ],
      };
    case 'ringBarrier':
      // NEMA: 2/6 arterial throughs, 1/5 arterial protected lefts (1 opposes 2),
      // 4/8 side-street throughs, 3/7 side-street protected lefts (3 opposes 4).
      return {
        type: 'ringBarrier',
        phases: [
          phase('1', ['WBL'], [], 6, 40),
          phase('2', ['EBT'], ['EBR'], 15, 70, ['S']),
          phase('3', ['NBL'], [], 5, 40),
          phase('4', ['SBT'], ['SBR'], 10, 45, ['W']),
          phase('5', ['EBL'], [], 6, 40),
          phase('6', ['WBT'], ['WBR'], 15, 70, ['N']),
          phase('7', ['SBL'], [], 5, 40),
          phase('8', ['NBT'], ['NBR'], 10, 45, ['E']),
        ],
        barriers: [{ rings: [['1', '2'], ['5', '6']] }, { rings: [['3', '4'], ['7', '8']] }],
      };
    default:
      throw new Error(`unknown plan ${plan}`);
  }
}

function buildIntersection(ix, name, position, arterialApproaches) {
  const approaches = buildApproaches(ix);
  const served = new Set(approaches.flatMap((a) => [...new Set(a.lanes.flatMap((l) => l.movements))].map((t) => a.id + t)));
  return {
    id: ix.id,
    name,
    position,
    widthM: ix.widthM,
    approaches,
    crosswalks: LEG_ORDER.map((leg) => ({ leg, lengthM: ix.cw[leg] })),
    detectors: buildDetectors(ix, approaches, arterialApproaches),
    phasing: buildPhasing(ix.plan, served),
  };
}

const EARTH_R = 6371008.8;
function destination({ lon, lat }, distM, bearingNorthOfEastDeg) {
  const th = (bearingNorthOfEastDeg * Math.PI) / 180;
  const dx = distM * Math.cos(th);
  const dy = distM * Math.sin(th);
  const dLat = (dy / EARTH_R) * (180 / Math.PI);
  const dLon = (dx / (EARTH_R * Math.cos(((lat + dLat / 2) * Math.PI) / 180))) * (180 / Math.PI);
  return { lon: round(lon + dLon, 6), lat: round(lat + dLat, 6) };
}
function haversine(p, q) {
  const r = Math.PI / 180;
  const dLat = (q.lat - p.lat) * r;
  const dLon = (q.lon - p.lon) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(p.lat * r) * Math.cos(q.lat * r) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_R * Math.asin(Math.sqrt(h));
}

function buildNetwork() {
  const positions = [{ lon: 120.13012, lat: 30.27186 }];
  for (let k = 0; k < SPACING.length; k++) positions.push(destination(positions[k], SPACING[k], BEARING[k]));
  const intersections = ARTERIAL.map((ix, k) =>
    buildIntersection(ix, `Renmin Rd / ${ix.cross} 人民路/${ix.zh}`, positions[k], ['EB', 'WB']),
  );
  for (const ix of ISOLATED) intersections.push(buildIntersection(ix, ix.name, ix.position, []));
  const links = [];
  for (let k = 0; k + 1 < ARTERIAL.length; k++) {
    const a = ARTERIAL[k].id;
    const b = ARTERIAL[k + 1].id;
    const lengthM = Math.round(haversine(positions[k], positions[k + 1]));
    links.push({ id: `L-${a}-${b}`, from: a, to: b, lengthM, designSpeedKph: 50 });
    links.push({ id: `L-${b}-${a}`, from: b, to: a, lengthM, designSpeedKph: 50 });
  }
  return {
    formatVersion: 1,
    name: 'Demo City: Renmin Rd corridor 人民路 (Hangzhou-like)',
    defaults: { saturationFlowVehPerHPerLane: 1800, pedestrianSpeedMps: 1.2 },
    intersections,
    links,
    corridors: [
      { id: 'renmin-rd', name: 'Renmin Rd 人民路', intersections: ARTERIAL.map((ix) => ix.id), outboundWeight: 0.55 },
    ],
  };
}

// ---------------------------------------------------------------------------
// Self-checks (a subset of what validate.ts enforces, plus the demo's own rules)
// ---------------------------------------------------------------------------
function check(net) {
  const errs = [];
  const pedSpeed = net.defaults.pedestrianSpeedMps;
  const ixIds = new Set();
  const detIds = new Set();
  for (const ix of net.intersections) {
    const where = ix.id;
    if (ixIds.has(ix.id)) errs.push(`${where}: duplicate intersection id`);
    ixIds.add(ix.id);
    const laneIds = new Set();
    const served = new Set();
    for (const ap of ix.approaches) {
      for (const lane of ap.lanes) {
        if (laneIds.has(lane.id)) errs.push(`${where}: duplicate lane ${lane.id}`);
        laneIds.add(lane.id);
        for (const t of lane.movements) served.add(ap.id + t);
      }
    }
    for (const d of ix.detectors) {
      if (detIds.has(d.id)) errs.push(`${where}: duplicate detector ${d.id}`);
      detIds.add(d.id);
      if (!laneIds.has(d.lane)) errs.push(`${where}: detector ${d.id} on unknown lane ${d.lane}`);
      if (d.kind === 'stopLine' && (d.distanceM < 2 || d.distanceM > 5)) errs.push(`${where}: ${d.id} stop-line distance`);
      if (d.kind === 'advance' && (d.distanceM < 60 || d.distanceM > 120)) errs.push(`${where}: ${d.id} advance distance`);
    }
    const cwLen = Object.fromEntries(ix.crosswalks.map((c) => [c.leg, c.lengthM]));
    const phases = ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases;
    const referenced = new Set();
    const phaseIds = new Set();
    for (const ph of phases) {
      const w = `${where} phase ${ph.id}`;
      if (phaseIds.has(ph.id)) errs.push(`${w}: duplicate phase id`);
      phaseIds.add(ph.id);
      if (ph.minGreenS > ph.maxGreenS) errs.push(`${w}: minGreenS > maxGreenS`);
      if (ph.protected.length === 0) errs.push(`${w}: no protected movement`);
      for (const m of [...ph.protected, ...ph.permitted]) {
        if (!served.has(m)) errs.push(`${w}: movement ${m} not served by any lane`);
        referenced.add(m);
      }
      for (const m of ph.permitted) if (m.endsWith('T')) errs.push(`${w}: permitted through ${m}`);
      if (ph.pedestrian) {
        for (const leg of ph.pedestrian.crosswalks) {
          if (cwLen[leg] === undefined) errs.push(`${w}: no crosswalk on leg ${leg}`);
          const need = ph.pedestrian.walkS + cwLen[leg] / pedSpeed;
          if (need > ph.maxGreenS) errs.push(`${w}: walk+clearance ${need.toFixed(1)} s > maxGreenS`);
        }
      }
    }
    for (const m of served) if (!referenced.has(m)) errs.push(`${where}: served movement ${m} never given right of way`);
    // Sets of phases that can show green at the same time.
    const groups = [];
    if (ix.phasing.type === 'stages') {
      for (const st of phases) groups.push([st]);
    } else {
      const byId = Object.fromEntries(phases.map((p) => [p.id, p]));
      const seen = new Set();
      for (const barrier of ix.phasing.barriers) {
        for (const ring of barrier.rings) {
          for (const pid of ring) {
            if (!byId[pid]) errs.push(`${where}: barrier references unknown phase ${pid}`);
            if (seen.has(pid)) errs.push(`${where}: phase ${pid} in two places`);
            seen.add(pid);
          }
        }
        const [r1, r2] = barrier.rings;
        for (const a of r1) for (const b of r2 ?? []) groups.push([byId[a], byId[b]]);
        for (const ring of barrier.rings) for (const a of ring) groups.push([byId[a]]);
      }
      for (const p of phases) if (!seen.has(p.id)) errs.push(`${where}: phase ${p.id} in no barrier`);
    }
    for (const g of groups) {
      const prot = g.flatMap((p) => p.protected);
      const peds = g.flatMap((p) => p.pedestrian?.crosswalks ?? []);
      const label = g.map((p) => p.id).join('+');
      for (let i = 0; i < prot.length; i++) {
        for (let j = i + 1; j < prot.length; j++) {
          if (vehiclesConflict(prot[i], prot[j])) errs.push(`${where} ${label}: protected ${prot[i]} conflicts with ${prot[j]}`);
        }
        for (const leg of peds) if (pedConflict(prot[i], leg)) errs.push(`${where} ${label}: protected ${prot[i]} conflicts with peds on ${leg}`);
      }
    }
  }
  for (const l of net.links) {
    if (!ixIds.has(l.from) || !ixIds.has(l.to)) errs.push(`link ${l.id}: unknown intersection`);
  }
  for (const c of net.corridors) for (const id of c.intersections) if (!ixIds.has(id)) errs.push(`corridor ${c.id}: unknown ${id}`);
  // Sanity of the conflict model itself (the examples in the design notes).
  const expect = [
    ['EBT', 'NBT', true], ['EBT', 'WBT', false], ['EBL', 'WBT', true], ['EBL', 'WBR', true], ['EBL', 'WBL', false],
    ['NBR', 'EBT', true], ['NBR', 'SBL', true], ['EBR', 'SBT', true], ['EBR', 'WBR', false], ['EBR', 'WBT', false],
    ['NBL', 'SBL', false], ['NBT', 'SBT', false],
  ];
  for (const [a, b, want] of expect) if (vehiclesConflict(a, b) !== want) errs.push(`conflict model: ${a}/${b} should be ${want}`);
  return errs;
}

// ---------------------------------------------------------------------------
// Lane flows: each movement spreads over the lanes serving it so lane flows equalise.
// ---------------------------------------------------------------------------
function laneShares(approach, volumes) {
  const lanes = approach.lanes;
  const mvs = [...new Set(lanes.flatMap((l) => l.movements))];
  // x[m][i]: design volume of movement m in lane i.
  const x = Object.fromEntries(mvs.map((t) => {
    const serving = lanes.map((l) => l.movements.includes(t));
    const n = serving.filter(Boolean).length;
    return [t, serving.map((s) => (s ? (volumes[approach.id + t] ?? 0) / n : 0))];
  }));
  for (let iter = 0; iter < 300; iter++) {
    for (const t of mvs) {
      const v = volumes[approach.id + t] ?? 0;
      const idx = lanes.map((l, i) => (l.movements.includes(t) ? i : -1)).filter((i) => i >= 0);
      const other = idx.map((i) => mvs.reduce((s, u) => s + (u === t ? 0 : x[u][i]), 0));
      // Water-fill v over the lanes on top of `other`.
      let lo = Math.min(...other);
      let hi = Math.max(...other) + v;
      for (let k = 0; k < 60; k++) {
        const mid = (lo + hi) / 2;
        const used = other.reduce((s, o) => s + Math.max(0, mid - o), 0);
        if (used > v) hi = mid;
        else lo = mid;
      }
      idx.forEach((i, j) => (x[t][i] = Math.max(0, lo - other[j])));
      const sum = idx.reduce((s, i) => s + x[t][i], 0);
      if (sum > 0) idx.forEach((i) => (x[t][i] *= v / sum));
    }
  }
  return lanes.map((l, i) => Object.fromEntries(mvs.map((t) => [t, x[t][i]])));
}

// ---------------------------------------------------------------------------
// Counts
// ---------------------------------------------------------------------------
const INTERVALS = Array.from({ length: 96 }, (_, i) => i);
const hhmm = (i) => `${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}`;
/** engine/counts/csv.ts: local wall time, `YYYY-MM-DDTHH:MM`, no zone (Asia/Shanghai implied). */
const stamp = (i) => `${DATE}T${hhmm(i)}`;
const at = (s) => {
  const [h, m] = s.split(':').map(Number);
  return h * 4 + m / 15;
};

const FAULTS = {
  dead: { det: 'I3-WB-2-S', from: at('10:00'), to: at('14:00') },
  stuck: { det: 'I6-NB-2-S', from: at('15:00'), to: at('16:15'), volumes: [0, 1, 0, 0, 1] },
  chatter: { det: 'I4-EB-2-S', from: at('08:00'), to: at('08:45'), spuriousPer15Min: 520 },
  missing: [['I1-SB-1-S', at('02:15')], ['I4-WB-3-A', at('12:30')], ['I8-NB-2-S', at('19:45')]],
};

function occupancyFor(vol15) {
  if (vol15 <= 0) return 0;
  const vph = vol15 * 4;
  const occ = vph * 0.012 * (1 + 0.06 * normal()) + 0.25 * normal();
  return Math.min(95, Math.max(0.1, round(occ, 1)));
}

function buildCounts(net, volumesById) {
  // Per detector: array of 96 {vol, occ}.
  const series = new Map();
  const detectorOrder = [];
  for (const ix of net.intersections) {
    const vols = volumesById[ix.id];
    const shares = Object.fromEntries(ix.approaches.map((ap) => [ap.id, laneShares(ap, vols)]));
    const stopVol = {}; // lane id -> array
    for (const ap of ix.approaches) {
      for (const lane of ap.lanes) stopVol[lane.id] = new Array(96).fill(0);
    }
    for (const i of INTERVALS) {
      const t = i / 4 + 1 / 8; // interval midpoint, hours
      for (const ap of ix.approaches) {
        // Movement-level overdispersion (platoons, one-off events), shared by its lanes.
        const mvNoise = {};
        for (const t2 of ['L', 'T', 'R', 'U']) mvNoise[t2] = Math.exp(0.05 * normal() - 0.00125);
        ap.lanes.forEach((lane, li) => {
          let lambda = 0;
          for (const [turn, designVol] of Object.entries(shares[ap.id][li])) lambda += (designVol / 4) * profile(ap.id, t) * mvNoise[turn];
          stopVol[lane.id][i] = poisson(lambda);
        });
      }
    }
    for (const d of ix.detectors) {
      const vols15 = stopVol[d.lane].map((v) =>
        d.kind === 'stopLine' ? v : Math.max(0, Math.round(v * (1 + 0.025 * normal()) + 0.8 * normal())),
      );
      series.set(d.id, vols15.map((v) => ({ vol: v, occ: occupancyFor(v) })));
      detectorOrder.push(d.id);
    }
  }
  // Inject faults.
  const dead = series.get(FAULTS.dead.det);
  for (let i = FAULTS.dead.from; i < FAULTS.dead.to; i++) dead[i] = { vol: 0, occ: 0 };
  const stuck = series.get(FAULTS.stuck.det);
  for (let i = FAULTS.stuck.from, k = 0; i < FAULTS.stuck.to; i++, k++) stuck[i] = { vol: FAULTS.stuck.volumes[k], occ: 100 };
  const chatter = series.get(FAULTS.chatter.det);
  for (let i = FAULTS.chatter.from; i < FAULTS.chatter.to; i++) {
    chatter[i] = { ...chatter[i], vol: chatter[i].vol + poisson(FAULTS.chatter.spuriousPer15Min) };
    // engine/counts/faults.ts flags chatter above 2400 veh/h/lane (600 per 15 min).
    if (chatter[i].vol * 4 <= 2400) throw new Error(`chatter on ${FAULTS.chatter.det} @ ${hhmm(i)} is only ${chatter[i].vol} veh`);
  }
  const missing = new Set(FAULTS.missing.map(([d, i]) => `${d}@${i}`));
  for (const [d] of FAULTS.missing) if (!series.has(d)) throw new Error(`fault detector ${d} does not exist`);
  for (const f of [FAULTS.dead, FAULTS.stuck, FAULTS.chatter]) if (!series.has(f.det)) throw new Error(`fault detector ${f.det} does not exist`);

  const rows = ['interval_start,detector_id,volume_veh,occupancy_pct'];
  for (const i of INTERVALS) {
    for (const id of detectorOrder) {
      if (missing.has(`${id}@${i}`)) continue;
      const { vol, occ } = series.get(id)[i];
      rows.push(`${stamp(i)},${id},${vol},${occ.toFixed(1)}`);
    }
  }
  return { csv: rows.join('\n') + '\n', series, detectorOrder };
}

// ---------------------------------------------------------------------------
// Report: design-hour critical flow ratios (rough HCM-style, for tuning only)
// ---------------------------------------------------------------------------
function report(net, volumesById, series) {
  const lines = [];
  for (const ix of net.intersections) {
    const vols = volumesById[ix.id];
    for (const [label, t] of [['AM', 8.2], ['PM', 18.0]]) {
      const laneY = {};
      for (const ap of ix.approaches) {
        const sh = laneShares(ap, vols);
        ap.lanes.forEach((lane, li) => {
          let sat = 1800;
          if (lane.movements.length === 1 && lane.movements[0] === 'L') sat = 1710;
          else if (lane.movements.includes('L')) sat = 1500;
          else if (lane.movements.includes('R')) sat = 1650;
          const flow = Object.values(sh[li]).reduce((s, v) => s + v, 0) * profile(ap.id, t);
          laneY[lane.id] = { y: flow / sat, flow };
        });
      }
      const yOf = (ph) => {
        let y = 0;
        for (const m of ph.protected) {
          const ap = ix.approaches.find((a) => a.id === m.slice(0, 2));
          for (const lane of ap.lanes) if (lane.movements.includes(m.slice(2))) y = Math.max(y, laneY[lane.id].y);
        }
        return y;
      };
      let Y = 0;
      if (ix.phasing.type === 'stages') Y = ix.phasing.stages.reduce((s, p) => s + yOf(p), 0);
      else {
        const byId = Object.fromEntries(ix.phasing.phases.map((p) => [p.id, p]));
        for (const b of ix.phasing.barriers) Y += Math.max(...b.rings.map((r) => r.reduce((s, id) => s + yOf(byId[id]), 0)));
      }
      const maxThrough = Math.max(...Object.entries(laneY).filter(([id]) => /^(EB|WB|NB|SB)/.test(id)).map(([, v]) => v.flow));
      lines.push(`${ix.id.padEnd(4)} ${label}  Y≈${Y.toFixed(2)}  busiest lane ≈${Math.round(maxThrough)} veh/h`);
    }
  }
  // Observed busiest 15-min interval per detector (stop-line, fault-free detectors).
  let best = { id: '', i: 0, vol: 0 };
  for (const [id, s] of series) {
    if (!id.endsWith('-S') || id === FAULTS.chatter.det) continue;
    s.forEach((r, i) => {
      if (r.vol > best.vol) best = { id, i, vol: r.vol };
    });
  }
  lines.push(`busiest stop-line 15-min count: ${best.id} @ ${hhmm(best.i)} = ${best.vol} veh (${best.vol * 4} veh/h)`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
/** JSON with small leaf objects and arrays of primitives kept on one line, for readable diffs. */
function prettyJson(value, indent = '') {
  const isPrimitive = (v) => v === null || typeof v !== 'object';
  const flatEnough = (v) =>
    Array.isArray(v) ? v.every((x) => isPrimitive(x) || (Array.isArray(x) && x.every(isPrimitive))) : Object.values(v).every((x) => isPrimitive(x) || (Array.isArray(x) && x.every(isPrimitive)));
  if (isPrimitive(value)) return JSON.stringify(value);
  const oneLine = JSON.stringify(value).replace(/,(?=["{[\d-])/g, ', ').replace(/":/g, '": ');
  if (flatEnough(value) && indent.length + oneLine.length <= 110) return oneLine;
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
}

function main() {
  const net = buildNetwork();
  const errs = check(net);
  if (errs.length) {
    console.error(`self-check failed:\n  ${errs.join('\n  ')}`);
    process.exit(1);
  }
  const { vol: artVols, midblock } = arterialVolumes();
  const volumesById = {};
  ARTERIAL.forEach((ix, k) => (volumesById[ix.id] = artVols[k]));
  for (const ix of ISOLATED) volumesById[ix.id] = ix.volumes;

  const { csv, series, detectorOrder } = buildCounts(net, volumesById);
  const text = prettyJson(net) + '\n';
  if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(net)) throw new Error('prettyJson changed the data');
  writeFileSync(join(HERE, 'network.json'), text);
  writeFileSync(join(HERE, 'counts.csv'), csv);

  console.log(`network.json: ${net.intersections.length} intersections, ${detectorOrder.length} detectors, ${net.links.length} links`);
  console.log(`counts.csv:   ${csv.trimEnd().split('\n').length - 1} rows`);
  if (process.argv.includes('--report')) {
    for (const [id, v] of Object.entries(volumesById)) console.log(id, JSON.stringify(v));
    console.log(midblock.join('\n'));
    console.log(report(net, volumesById, series));
  }
}

main();
