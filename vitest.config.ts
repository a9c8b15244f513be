import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Three tiers, all run by `npm test`:
 *  - unit (`npm run test:unit`): in-process tests that need no build and no outside tool, the
 *    quick loop while changing code (under 60 s on the 2-core machine);
 *  - interop (`npm run test:interop`): tests whose referee or client is a peer tool from Debian
 *    (sumo and sumo-tools, mbpoll, pymodbus, snmpget/snmpwalk, socat, python3-grpcio, postgresql, nats-server), which
 *    `.ci/run` installs;
 *  - slow (`npm run test:slow`): in-process or child-process tests that take over ~8 s each
 *    (exact band checks against HiGHS, simulator runs, property and fuzz runs, hostile clients,
 *    restart and resync), and those that load the compiled workers from dist/ (NEEDS_BUILD).
 * A file goes in one tier; new files land in unit unless listed below.
 */
const INTEROP = [
  'bench/scenarios/smoke.test.ts',
  'cli/sumoCompare.test.ts',
  'cli/controllers.test.ts',
  'controllers-adapter/floors.test.ts',
  'controllers-adapter/modbus/actuated.test.ts',
  'controllers-adapter/modbus/conformance.test.ts',
  'controllers-adapter/modbus/peers.test.ts',
  'controllers-adapter/modbus/signMbpoll.test.ts',
  'controllers-adapter/ntcip/actuated.test.ts',
  'controllers-adapter/ntcip/cli.test.ts',
  'controllers-adapter/ntcip/ntcip.test.ts',
  'controllers-adapter/ntcip/walk.test.ts',
  'controllers-adapter/rtu/rtu.test.ts',
  'service/cluster/borders.test.ts',
  'service/cluster/drive.test.ts',
  'service/cluster/front.test.ts',
  'service/cluster/lease.test.ts',
  'service/cluster/record.test.ts',
  'service/cluster/regionBus.test.ts',
  'service/parkingPy.test.ts',
  'service/trafficPy.test.ts',
  'service/server.test.ts',
  'service/storage/postgres.test.ts',
  'simulator/sumo/bridge/inSumo.test.ts',
  'simulator/sumo/driver.test.ts',
  'simulator/sumo/exportActuated.test.ts',
  'simulator/sumo/loops.test.ts',
  'simulator/sumo/sumo.test.ts',
  'simulator/sumo/timeOfDay.test.ts',
  'web/console.test.ts',
];
/** Tests that start worker threads or child processes from dist/: `npm run build` must have run. */
const NEEDS_BUILD = [
  'engine/corridor/city.test.ts',
  'engine/pool/freshBuild.test.ts',
  'engine/pool/pool.test.ts',
  'service/storage/sqlite.test.ts',
  'service/persistence.test.ts',
  'service/cluster/drive.test.ts',
  'service/deployer.crash.test.ts',
  'service/lifecycle.test.ts',
  'service/metrics.test.ts',
  'service/heapTuning.test.ts',
  'service/incidentCalibration.test.ts',
  'cli/demo.test.ts',
  'cli/ops.test.ts',
  'cli/serve.shutdown.test.ts',
  'web/console.test.ts',
];
// A test both interop and NEEDS_BUILD runs once, in interop (whose script builds first too).
const SLOW = [
  ...NEEDS_BUILD.filter((f) => !INTEROP.includes(f)),
  'bench/diversion/diversion.test.ts',
  'cli/docs.test.ts',
  'cli/main.test.ts',
  'cli/pack.test.ts',
  'cli/resync.test.ts',
  'engine/corridor/band.test.ts',
  'engine/corridor/crossing.test.ts',
  'engine/counts/predict.test.ts',
  'engine/network/fuzz.test.ts',
  'engine/priority/tsp.test.ts',
  'engine/runner/cycleRunner.test.ts',
  'engine/safety/validator.test.ts',
  'service/governance.test.ts',
  'service/hostile.test.ts',
  'service/parkingField.test.ts',
  'simulator/insertion.test.ts',
  'simulator/linkPivot.test.ts',
  'simulator/simulation.test.ts',
  'simulator/trafficState.test.ts',
  'simulator/transit.test.ts',
];
const ALL = ['{engine,cli,bench,simulator,proto,service,controllers-adapter,test,web}/**/*.test.ts'];
const EXCLUDE = ['dist/**', 'node_modules/**'];

/**
 * Rough seconds of the longest test files on the 2-core machine. They start first, so that
 * the two workers finish together instead of one of them starting a long file last; a fresh
 * clone has no timing cache for vitest to order by. Order only: nothing is skipped or shortened.
 * Wall seconds from a fresh-clone CI run (December 2026), except those marked cpu: user + sys
 * seconds of the file run alone (`/usr/bin/time npx vitest run FILE`, less the ~2.5 s vitest
 * start), measured on 6 December 2026 for files that were missing here and so could start last.
 */
const LONGEST_S: Readonly<Record<string, number>> = {
  'bench/scenarios/smoke.test.ts': 69,
  'engine/corridor/band.test.ts': 19, // 39 before its referee ran HiGHS's second pass only on disagreement
  'simulator/transit.test.ts': 34,
  'simulator/insertion.test.ts': 34,
  // 32 before the rounds' plans moved out of the 20 killed processes (about 12 s of CPU less).
  'service/deployer.crash.test.ts': 26,
  'engine/runner/cycleRunner.test.ts': 21, // cpu
  'service/governance.test.ts': 22,
  'cli/pack.test.ts': 21, // cpu (14 in CI)
  'cli/main.test.ts': 16, // cpu
  'service/persistence.test.ts': 16, // cpu
  'service/cluster/drive.test.ts': 40,
  'service/cluster/lease.test.ts': 11,
  'web/console.test.ts': 15,
  'cli/resync.test.ts': 14,
  'simulator/sumo/loops.test.ts': 14,
  'service/lifecycle.test.ts': 12,
  'cli/ops.test.ts': 11, // cpu
  'simulator/simulation.test.ts': 11, // cpu
  'service/server.test.ts': 11, // cpu
  'controllers-adapter/ntcip/ntcip.test.ts': 10,
  'service/metrics.test.ts': 8, // cpu
  'cli/docs.test.ts': 8, // cpu
  'engine/safety/validator.test.ts': 8, // cpu
  'simulator/sumo/sumo.test.ts': 8, // cpu
  'cli/serve.shutdown.test.ts': 8, // cpu
};

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const seconds = (f: TestSpecification): number => LONGEST_S[f.moduleId.slice(f.project.config.root.length + 1)] ?? 0;
    return [...base].sort((a, b) => seconds(b) - seconds(a));
  }
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    // One module graph per worker, not a fresh process per file: that cost more than the unit
    // tests themselves (unit tier 81 s of CPU isolated, 39 s shared; the whole run 560 s, 467 s).
    // No test keeps global state (no mocks, no process.env or timer fakes); the tiers passed
    // this way in file order and shuffled. Children, workers and servers are each test's own.
    isolate: false,
    // Vitest's default is one worker fewer than the cores: one worker on this 2-core machine.
    // Two keep npm test under 5 minutes; the latency assertions gate themselves on the load.
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: [...EXCLUDE, ...INTEROP, ...SLOW] } },
      { extends: true, test: { name: 'interop', include: INTEROP, exclude: EXCLUDE } },
      { extends: true, test: { name: 'slow', include: SLOW, exclude: EXCLUDE } },
    ],
  },
});
