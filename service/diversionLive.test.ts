/**
 * Diversion guidance on live loop counts, end to end: the demo city's ten virtual controllers
 * on Modbus TCP and `startServer` on a SQLite file (test/fixtures/controlCentre.ts, a
 * hand-driven clock) with `--diversion`, and a virtual sign behind its own Modbus TCP server.
 * The link state the guide reads comes from the counts collected from the controllers
 * (./countCollector.ts → ./trafficState.ts `applyLive`), not from the counts file: the service
 * starts on the file and the sign shows both routes' minutes; the same light counts put on
 * every loop of both routes through the controllers keep it so; then the main route's loops
 * (I2 and I3 eastbound) count far past their capacity, through the controllers only, and the
 * sign switches to 前方拥堵 / 请绕行. The counts file never changes, so only the live counts
 * can move the sign. As in ./diversionServe.test.ts the "alternative" is another stretch of
 * Renmin Rd standing in for a parallel road (the demo city has none).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { detectorRange } from '../controllers-adapter/virtual/detectors.js';
import { VirtualSign } from '../controllers-adapter/virtual/sign.js';
import { SIGN_LINE_KIND } from '../controllers-adapter/signBlock.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { makeLogger } from './logging.js';
import { startControlCentre, T0_S, type ControlCentre } from '../test/fixtures/controlCentre.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-diversion-live-'));
/** The main route: Renmin Rd eastbound into I2, then into I3; the alternative: eastbound into I6, then I7. */
const MAIN = ['L-I1-I2', 'L-I2-I3'];
const ALT = ['L-I5-I6', 'L-I6-I7'];
let cc: ControlCentre;
let signServer: ControllerServer<VirtualSign>;
const sign = new VirtualSign(T0_S);

beforeAll(async () => {
  signServer = await ControllerServer.start([{ unitId: 1, controller: sign }]);
  const file = join(dir, 'diversion.json');
  writeFileSync(
    file,
    JSON.stringify({
      options: { onMarginS: 60, offMarginS: 20, minHoldS: 0 },
      decisionPoints: [
        {
          id: 'DP1',
          signId: 'D1',
          unitId: 1,
          endpoint: { host: '127.0.0.1', port: signServer.port },
          routes: [
            { id: 'main', nameZh: '人民路', nameEn: 'Renmin Rd', direction: 'ahead', links: MAIN },
            { id: 'alt', nameZh: '人民路东段', nameEn: 'Renmin Rd east', direction: 'left', links: ALT },
          ],
        },
      ],
    }),
  );
  // Errors only: the controllers keep no event log here, and the event collector says so for each.
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  cc = await startControlCentre(dir, { diversion: file, logger: makeLogger('error', quiet), signOptions: { periodMs: 3_600_000, client: { timeoutMs: 1000, retries: 1, backoffMs: 10 } } });
}, 30_000);
afterAll(async () => {
  await cc?.close();
  await signServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the controllers’ live counts drive the diversion sign: light counts keep the travel times, the main route overloaded through the controllers switches it to 请绕行', async () => {
  const { c } = demo();
  const srv = cc.srv;
  const linkIndex = (id: string) => srv.traffic.links.index.get(id)!;
  const time = (ids: readonly string[]) => ids.reduce((t, id) => t + srv.traffic.current().travelTimeS[linkIndex(id)]!, 0);
  // The loops (global detector index → controller and its local index) of the approaches feeding each route's links.
  const loopsOf = (approaches: readonly string[]) =>
    c.detectorIds.flatMap((id, d) => {
      if (!approaches.some((a) => id.startsWith(`${a}-`))) return [];
      const i = c.intersectionIds.indexOf(id.slice(0, id.indexOf('-')));
      return [{ i, local: d - detectorRange(c, i).start }];
    });
  const mainLoops = loopsOf(['I2-EB', 'I3-EB']);
  const altLoops = loopsOf(['I6-EB', 'I7-EB']);
  expect(mainLoops.length).toBeGreaterThanOrEqual(8);
  expect(altLoops.length).toBeGreaterThanOrEqual(4);
  /** One minute of counts on the controllers (veh per loop, and the occupancy that goes with it), collected at once. */
  const minute = async (mainVeh: number, altVeh: number) => {
    for (const { i, local } of mainLoops) cc.controllers[i]!.addDetectorCounts(local, mainVeh, mainVeh * 2);
    for (const { i, local } of altLoops) cc.controllers[i]!.addDetectorCounts(local, altVeh, altVeh * 2);
    cc.advance(60 - (cc.now() % 60) + 1);
    await srv.counts!.tick();
  };
  /** One sign round, then what the sign shows. */
  const shown = async () => {
    const before = sign.commits;
    await srv.diversion!.tick();
    for (let k = 0; k < 100 && sign.commits === before && srv.diversion!.pusher!.states()[0]!.pushes === 0; k++) await new Promise((r) => setTimeout(r, 20));
    return sign.shown()?.lines.map((l) => l.kind);
  };

  // On the counts file: no diversion.
  expect(srv.traffic.isLive).toBe(false);
  expect(await shown()).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
  const fileMain = time(MAIN);

  // Light live counts on both routes (6 veh a minute a loop): live, and still no diversion.
  await minute(6, 6);
  await minute(6, 6);
  await minute(6, 6);
  expect(srv.traffic.isLive).toBe(true);
  expect(await shown()).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
  const lightMain = time(MAIN);
  expect(Math.abs(time(MAIN) - time(ALT))).toBeLessThan(60);

  // The main route's loops count 40 veh a minute each (2,400 veh/h a lane, past any green's
  // capacity), the alternative's stay light: the live link state makes the main route slow and the sign says divert.
  for (let k = 0; k < 5; k++) await minute(40, 6);
  const main = time(MAIN);
  const alt = time(ALT);
  expect(main - alt).toBeGreaterThan(60);
  expect(main).toBeGreaterThan(lightMain + 60);
  expect(main).not.toBeCloseTo(fileMain, 0); // not the counts file's state
  expect(await shown()).toEqual([SIGN_LINE_KIND.congested, SIGN_LINE_KIND.divert]);
  expect(sign.shown()!.lines.map((l) => l.freeSpaces)).toEqual([Math.max(1, Math.round(main / 60)), Math.max(1, Math.round(alt / 60))]);
  expect(srv.diversion!.messages()[0]).toMatchObject({ decisionPointId: 'DP1', divertTo: 1, textZh: '前方拥堵 请绕行人民路东段' });
  expect(srv.diversion!.pusher!.states()[0]!.failures).toBe(0);
}, 30_000);
