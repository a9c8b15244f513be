import { describe, expect, it } from 'vitest';
import { decideCheck, networkShape, plannedLoad, simulatorTrust, TRUST_MAX_LOAD, type ShapeInput } from './checkTrust.js';

/** Signals at (x, y) metres, turned by `turnDeg`, joined both ways by the given pairs. */
function net(points: readonly [number, number][], pairs: readonly [number, number][], turnDeg = 0): ShapeInput {
  const a = (turnDeg * Math.PI) / 180;
  const intersections = points.map(([x, y], i) => {
    const u = x * Math.cos(a) - y * Math.sin(a);
    const v = x * Math.sin(a) + y * Math.cos(a);
    return { id: `S${i}`, position: { lon: 120 + u / 96_000, lat: 30 + v / 111_000 } };
  });
  const links = pairs.flatMap(([p, q]) => [
    { from: `S${p}`, to: `S${q}` },
    { from: `S${q}`, to: `S${p}` },
  ]);
  return { intersections, links };
}

function lattice(cols: number, rows: number, spacingM: number, skip: (c: number, r: number) => boolean = () => false) {
  const points: [number, number][] = [];
  const at = new Map<string, number>();
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (skip(c, r)) continue;
      at.set(`${c},${r}`, points.length);
      points.push([c * spacingM, r * spacingM]);
    }
  }
  const pairs: [number, number][] = [];
  for (const [key, i] of at) {
    const [c, r] = key.split(',').map(Number) as [number, number];
    const east = at.get(`${c + 1},${r}`);
    const north = at.get(`${c},${r + 1}`);
    if (east !== undefined) pairs.push([i, east]);
    if (north !== undefined) pairs.push([i, north]);
  }
  return { points, pairs };
}

const signals = (...ys: number[]) => ys.map((criticalFlowRatio) => ({ criticalFlowRatio }));

describe('networkShape', () => {
  it('calls a chain of signals (irregular spacing, a bend) and a lone signal an arterial', () => {
    const chain = net(
      [
        [0, 0],
        [680, 0],
        [990, 40],
        [1590, 300],
        [1780, 310],
      ],
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
      ],
    );
    expect(networkShape(chain)).toBe('arterial');
    expect(networkShape(net([[0, 0]], []))).toBe('arterial');
  });

  it('calls a lattice a grid, turned or with unsignalised corners, and a loop of scattered signals irregular', () => {
    const g = lattice(5, 3, 300);
    expect(networkShape(net(g.points, g.pairs))).toBe('grid');
    expect(networkShape(net(g.points, g.pairs, 33))).toBe('grid');
    const corners = lattice(5, 3, 300, (c, r) => (c === 0 || c === 4) && (r === 0 || r === 2));
    expect(networkShape(net(corners.points, corners.pairs))).toBe('grid');
    // A loop closes, and no lattice holds the signals.
    const scattered = net(
      [
        [0, 0],
        [410, 90],
        [520, 480],
        [130, 610],
        [-240, 300],
        [700, 900],
      ],
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
        [4, 0],
        [2, 5],
      ],
    );
    expect(networkShape(scattered)).toBe('irregular');
  });
});

describe('simulatorTrust', () => {
  it('takes the load at the 90th-percentile signal, so one hot signal of many does not decide', () => {
    expect(plannedLoad(signals(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0))).toBe(0.9);
    expect(plannedLoad(signals(0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.9))).toBe(0.2);
    expect(plannedLoad(signals(0.35))).toBe(0.35);
  });

  it('trusts arterials and grids up to their limit, irregular networks never, and says why', () => {
    const limit = TRUST_MAX_LOAD.arterial!;
    const arterial = net(
      [
        [0, 0],
        [400, 0],
        [900, 0],
      ],
      [
        [0, 1],
        [1, 2],
      ],
    );
    const below = simulatorTrust(arterial, signals(0.2, 0.22, limit - 0.01));
    expect(below).toMatchObject({ trusted: true, shape: 'arterial', maxLoad: limit });
    expect(below.reason).toMatch(/within 0\.30.*time loss within ±15 %.*Spearman ρ ≥ 0\.8/);
    const above = simulatorTrust(arterial, signals(0.2, 0.22, limit + 0.05));
    expect(above).toMatchObject({ trusted: false, shape: 'arterial' });
    expect(above.reason).toMatch(/above 0\.30/);
    const g = lattice(3, 3, 250);
    expect(simulatorTrust(net(g.points, g.pairs), signals(...Array(9).fill(TRUST_MAX_LOAD.grid! - 0.01))).trusted).toBe(true);
    expect(simulatorTrust(net(g.points, g.pairs), signals(...Array(9).fill(TRUST_MAX_LOAD.grid! + 0.05))).trusted).toBe(false);
    // Scattered signals joined in a loop: never trusted, however light the load.
    const scattered = net(
      [
        [0, 0],
        [410, 90],
        [520, 480],
        [130, 610],
        [-240, 300],
      ],
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
        [4, 0],
      ],
    );
    const irregular = simulatorTrust(scattered, signals(0.05, 0.05, 0.05, 0.05, 0.05));
    expect(irregular).toMatchObject({ trusted: false, shape: 'irregular', maxLoad: null });
    expect(irregular.reason).toMatch(/never measured/);
  });
});

describe("sumo plan's check decision", () => {
  const arterial = net(
    [
      [0, 0],
      [400, 0],
    ],
    [[0, 1]],
  );
  const trusted = simulatorTrust(arterial, signals(0.2, 0.2));
  const untrusted = simulatorTrust(arterial, signals(0.5, 0.5));
  it('auto: our simulator where trusted, else SUMO when it can run, else the planner alone', () => {
    expect(decideCheck('auto', trusted, false).used).toBe('greenwave');
    expect(decideCheck('auto', untrusted, true).used).toBe('sumo');
    const none = decideCheck('auto', untrusted, false);
    expect(none.used).toBe('none');
    expect(none.reason).toMatch(/not trusted here.*install sumo/);
  });
  it('a check the user names runs where they asked, and says when it is not trusted', () => {
    expect(decideCheck('greenwave', untrusted, false)).toMatchObject({ used: 'greenwave', reason: expect.stringMatching(/not trusted here/) });
    expect(decideCheck('sumo', trusted, true).used).toBe('sumo');
    expect(decideCheck('none', trusted, true).used).toBe('none');
  });
});
