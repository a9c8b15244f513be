/**
 * `serve --diversion` end to end: startServer with a diversion file, two virtual signs behind a
 * real Modbus TCP server, and a counts file whose 08:00 interval loads the eastbound stop line
 * at I2 (link L-I1-I2) far beyond its capacity. The service's own traffic state makes that
 * main route slow; the decision point's sign shows 前方拥堵 / 请绕行 with the minutes, the
 * travel-times-only sign shows both routes' minutes, a log line says the diversion started,
 * and the gauges carry it. Then the plan for a quiet interval (03:00) is put in force, as a
 * Replan does: the traffic state follows, the main route is fast again, the diversion ends.
 * The demo city has no alternative to Renmin Rd: the "alternative" here is another stretch of
 * it, standing in for one (the guide compares route times, it does not know the map).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { VirtualSign } from '../controllers-adapter/virtual/sign.js';
import { SIGN_LINE_KIND, SIGN_STATE_CODE } from '../controllers-adapter/signBlock.js';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { TokenStore } from './auth.js';
import { makeLogger } from './logging.js';
import { DEFAULT_COUNTS, DEFAULT_NETWORK, startServer, type RunningServer } from './server.js';
import { ServiceState } from './state.js';
import { priorityConfig } from '../engine/priority/policy.js';

const T0 = Date.parse('2026-11-24T08:00:00+08:00') / 1000;
const dir = mkdtempSync(join(tmpdir(), 'gw-diversion-'));
const tokens = new TokenStore([{ token: 'viewer-secret-1', client: 'dashboard', roles: ['viewer'] }]);
const MAIN = ['L-I1-I2', 'L-I2-I3'];
const ALT = ['L-I5-I6', 'L-I6-I7'];
let modbus: ControllerServer<VirtualSign>;
const signs = [new VirtualSign(T0), new VirtualSign(T0)];

function diversionFile(port: number): string {
  const file = join(dir, `diversion-${port}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      options: { onMarginS: 60, offMarginS: 20, minHoldS: 0 },
      decisionPoints: [
        {
          id: 'DP1',
          signId: 'D1',
          unitId: 1,
          endpoint: { host: '127.0.0.1', port },
          routes: [
            { id: 'main', nameZh: '人民路', nameEn: 'Renmin Rd', direction: 'ahead', links: MAIN },
            { id: 'alt', nameZh: '人民路东段', nameEn: 'Renmin Rd east', direction: 'left', links: ALT },
          ],
        },
        {
          id: 'DP2',
          signId: 'D2',
          unitId: 2,
          endpoint: { host: '127.0.0.1', port },
          travelTimesOnly: true,
          routes: [
            { id: 'east', nameZh: '东风街', nameEn: 'Dongfeng St', direction: 'ahead', links: ['L-I7-I8'] },
            { id: 'west', nameZh: '新华街', nameEn: 'Xinhua St', direction: 'right', links: ['L-I2-I1'] },
          ],
        },
      ],
    }),
  );
  return file;
}

/** The demo counts with the 08:00 volumes at I2's eastbound stop line multiplied by `factor`. */
function countsFile(factor: number): string {
  const lines = readFileSync(DEFAULT_COUNTS, 'utf8').split('\n');
  const out = lines.map((l) => {
    const [at, det, vol, occ] = l.split(',');
    if (at !== '2026-11-24T08:00' || !/^I2-EB-\d-S$/.test(det ?? '')) return l;
    return `${at},${det},${Math.round(Number(vol) * factor)},${occ}`;
  });
  const file = join(dir, `counts-${factor}.csv`);
  writeFileSync(file, out.join('\n'));
  return file;
}

async function serve(countsPath: string): Promise<{ srv: RunningServer; log: string[] }> {
  const log: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) log.push(String((JSON.parse(line) as { msg: string }).msg));
      cb();
    },
  });
  const srv = await startServer({
    insecure: true,
    port: 0,
    tokens,
    clock: () => T0,
    countsPath,
    at: '08:00',
    diversion: diversionFile(modbus.port),
    logger: makeLogger('info', dest),
    shutdownGraceMs: 300,
    signOptions: { periodMs: 3_600_000, client: { timeoutMs: 1000, retries: 1, backoffMs: 10 } },
  });
  return { srv, log };
}

beforeAll(async () => {
  modbus = await ControllerServer.start(signs.map((controller, k) => ({ unitId: k + 1, controller })));
});
afterAll(async () => {
  await modbus?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Rounds until every sign confirmed a push (the first round, started with the server, may still be in flight). */
async function pushed(srv: RunningServer): Promise<void> {
  for (let k = 0; k < 100 && !srv.diversion!.pusher!.states().every((s) => s.pushes > 0); k++) {
    await srv.diversion!.tick();
    await new Promise((r) => setTimeout(r, 20));
  }
}

const minutes = (s: number): number => Math.max(1, Math.round(s / 60));

test('the main route loaded past capacity: 前方拥堵 请绕行 on the sign, a log line, the gauges; a quiet interval ends it', async () => {
  const { srv, log } = await serve(countsFile(3));
  try {
    await pushed(srv);
    const est = srv.traffic.current();
    const time = (ids: string[]): number => ids.reduce((t, id) => t + est.travelTimeS[srv.traffic.links.index.get(id)!]!, 0);
    const main = time(MAIN);
    const alt = time(ALT);
    expect(main - alt).toBeGreaterThan(60); // the input did make the main route slower
    expect(signs[0]!.shown()).toMatchObject({
      state: SIGN_STATE_CODE.normal,
      lines: [
        { kind: SIGN_LINE_KIND.congested, freeSpaces: minutes(main) },
        { kind: SIGN_LINE_KIND.divert, freeSpaces: minutes(alt) },
      ],
    });
    expect(signs[1]!.shown()?.lines.map((l) => l.kind)).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
    const [m1, m2] = srv.diversion!.messages();
    expect(m1).toMatchObject({ decisionPointId: 'DP1', divertTo: 1, textZh: '前方拥堵 请绕行人民路东段' });
    expect(m2!.divertTo).toBe(-1);
    expect(log.filter((l) => l.includes('diversion DP1'))).toEqual([expect.stringMatching(/^greenwave serve: diversion DP1 \(sign D1\): diverting to alt: 前方拥堵 请绕行人民路东段 .*\(main \d+ s, alt \d+ s\)$/)]);
    const text = await srv.metrics.registry.metrics();
    expect(text).toMatch(/greenwave_diversion_active\{decision_point="DP1"\} 1/);
    expect(text).toMatch(/greenwave_diversion_active\{decision_point="DP2"\} 0/);
    expect(srv.diversion!.pusher!.states().map((s) => s.failures)).toEqual([0, 0]);

    // The plan for 03:00 put in force (what a Replan does): the link state of that quiet
    // interval, the main route as fast as the other, the diversion ends (hold 0 in this file).
    const night = ServiceState.load(DEFAULT_NETWORK, srv.state.source.countsPath, '03:00', priorityConfig());
    srv.state.apply({ plan: night.plan, forInterval: night.forInterval });
    const before = signs[0]!.commits;
    for (let k = 0; k < 100 && signs[0]!.commits === before; k++) {
      await srv.diversion!.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(time(MAIN) - time(ALT)).toBeLessThan(20);
    expect(signs[0]!.shown()?.lines.map((l) => l.kind)).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
    expect(log.filter((l) => l.includes('diversion'))).toEqual([
      `greenwave serve: diversion: 2 decision points from ${join(dir, `diversion-${modbus.port}.json`)}, 2 signs with a Modbus address`,
      expect.stringContaining('diversion DP1 (sign D1): diverting to alt'),
      expect.stringMatching(/^greenwave serve: diversion DP1 \(sign D1\): diversion ended: 人民路 \d+分钟 \| 人民路东段 \d+分钟 \(main \d+ s, alt \d+ s\)$/),
    ]);
    expect(await srv.metrics.registry.metrics()).toMatch(/greenwave_diversion_active\{decision_point="DP1"\} 0/);
  } finally {
    await srv.close();
  }
});

test('an incident reported with lanes blocked on the main route turns the sign to 请绕行 before any loop shows it; clearing it ends the diversion', async () => {
  const { srv } = await serve(countsFile(1));
  try {
    await pushed(srv);
    const shownKinds = (): number[] | undefined => signs[0]!.shown()?.lines.map((l) => l.kind);
    const until = async (kinds: number[]): Promise<void> => {
      for (let k = 0; k < 100 && JSON.stringify(shownKinds()) !== JSON.stringify(kinds); k++) {
        await srv.diversion!.tick();
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
    expect(shownKinds()).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
    // Three of L-I2-I3's four lanes blocked (the same counts: the loops have not seen it yet).
    expect(srv.traffic.laneCount('L-I2-I3')).toBe(4);
    const id = srv.traffic.reportIncident('L-I2-I3', '', 'operator', T0, 1, '', 'duty-officer', 'crash', 3);
    await until([SIGN_LINE_KIND.congested, SIGN_LINE_KIND.divert]);
    expect(shownKinds()).toEqual([SIGN_LINE_KIND.congested, SIGN_LINE_KIND.divert]);
    expect(srv.diversion!.messages()[0]).toMatchObject({ divertTo: 1, textZh: '前方拥堵 请绕行人民路东段' });
    srv.traffic.clearIncident(id, T0 + 600, 'duty-officer');
    await until([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
    expect(shownKinds()).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
  } finally {
    await srv.close();
  }
});

test('a bad diversion file stops the start, naming the field', async () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ decisionPoints: [{ id: 'DP1', signId: 'D1', endpoint: { host: 'x', port: 502 }, routes: [{ id: 'm', nameZh: '甲', nameEn: 'A', direction: 'ahead', links: ['L-I1-I9'] }] }] }));
  const err = await startServer({ insecure: true, port: 0, tokens, diversion: file }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GreenwaveError);
  expect((err as GreenwaveError).code).toBe(ErrorCode.InvalidInput);
  expect((err as GreenwaveError).issues?.map((i) => i.path)).toEqual(['decisionPoints[0].routes', 'decisionPoints[0].unitId', 'decisionPoints[0].routes[0].links[0]']);
});
