/**
 * The scenario benchmark's smoke version: three small scenarios (an arterial
 * with turn bays and advance loops, a 3×3 grid with field loop ids, a random
 * network), medium demand, one seed, 20 minutes of demand, every tool run in
 * the real SUMO. It proves the pipeline end to end and catches plans that
 * break a network (a dropped approach gridlocked the random one); plan
 * quality is judged by `npm run bench:scenarios`, not here.
 */
import { describe, expect, it } from 'vitest';
import { runScenarios } from './run.js';
import { formatReport, meanLoss, OPT_IN_TOOLS, TOOLS } from './report.js';
import { withClearances } from './build.js';

describe('withClearances', () => {
  it('gives SUMO\'s yellows greenwave\'s length and an all-red after them, continuing greens kept', () => {
    const net = `<net>
    <tlLogic id="A" type="actuated" programID="0" offset="0">
        <phase duration="42" state="GGrr" minDur="5" maxDur="50"/>
        <phase duration="3"  state="yyrr"/>
        <phase duration="6"  state="rrGG" minDur="5" maxDur="50"/>
        <phase duration="3"  state="rryg"/>
    </tlLogic>
    <tlLogic id="B" type="static" programID="0" offset="0">
        <phase duration="3"  state="yr"/>
    </tlLogic>
</net>`;
    const out = withClearances(net, new Map([['A', { yellowS: 4, allRedS: 2 }]]));
    expect([...out.matchAll(/<phase [^>]*\/>/g)].map((m) => m[0].replace(/\s+/g, ' '))).toEqual([
      '<phase duration="42" state="GGrr" minDur="5" maxDur="50"/>',
      '<phase duration="4" state="yyrr"/>',
      '<phase duration="2" state="rrrr"/>',
      '<phase duration="6" state="rrGG" minDur="5" maxDur="50"/>',
      '<phase duration="4" state="rryg"/>',
      '<phase duration="2" state="rrrg"/>',
      '<phase duration="3" state="yr"/>',
    ]);
  });
});

describe('bench/scenarios smoke (real SUMO)', () => {
  it('runs every tool on three scenarios; greenwave never does worse than SUMO\'s default fixed programs', async () => {
    const results = await runScenarios({ smoke: true, seeds: 1, concurrency: 1 });
    const report = formatReport(results);
    console.log(report);
    expect(results.map((r) => r.id)).toEqual(['smoke-arterial', 'smoke-grid', 'smoke-rand']);
    for (const r of results) {
      expect(r.error, `${r.id}: ${r.error}`).toBeUndefined();
      expect(r.signals).toBeGreaterThanOrEqual(4);
      for (const tool of TOOLS.filter((t) => !OPT_IN_TOOLS.includes(t))) {
        const s = r.scores.find((x) => x.tool === tool)!;
        expect(s.vehicles[0]!, `${r.id} ${tool}`).toBeGreaterThan(100);
        expect(Number.isFinite(meanLoss(r, tool))).toBe(true);
      }
      expect(meanLoss(r, 'greenwave'), r.id).toBeLessThan(meanLoss(r, 'SUMO static'));
    }
    // The irregular network is never trusted to our simulator, so its default checks in SUMO, with the uncoordinated
    // fully actuated variant among its trials; an arterial's check never tries that variant (cli/sumo.ts).
    const rand = results.find((r) => r.id === 'smoke-rand')!;
    expect(rand.check?.used).toBe('sumo');
    expect(rand.trials?.some((t) => /, fully actuated, uncoordinated$/.test(t.label))).toBe(true);
    for (const t of rand.trials ?? []) expect(t.unfinishedShare).toBeGreaterThanOrEqual(0);
    const arterial = results.find((r) => r.id === 'smoke-arterial')!;
    expect(arterial.trials?.some((t) => /uncoordinated/.test(t.label)) ?? false).toBe(false);
    expect(report).toMatch(/greenwave +tuning +as-run +\d\/3 wins, geometric-mean ratio/);
    expect(report).toMatch(/greenwave +tuning +same clearances +\d\/3 wins, geometric-mean ratio/);
  }, 400_000);
});
