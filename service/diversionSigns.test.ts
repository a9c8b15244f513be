/**
 * Diversion guidance reaching a sign over Modbus: a virtual sign behind a real Modbus TCP
 * server, the sign pusher driven by the diversion source (./diversionSigns.ts), travel times
 * changed by hand. The sign shows the routes' minutes, then 前方拥堵 / 请绕行 when the main
 * route falls behind; an unchanged display is not pushed again, changed minutes are; and the
 * register block refuses a diversion kind without its number.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { VirtualSign } from '../controllers-adapter/virtual/sign.js';
import { SIGN_DIRECTION_CODE, SIGN_LINE_KIND, SIGN_STATE_CODE, checkSignBlock, encodeSignBlock } from '../controllers-adapter/signBlock.js';
import { DiversionGuide, type DecisionPointConfig } from '../engine/traffic/diversion.js';
import { diversionSignSource } from './diversionSigns.js';
import { SignPusher } from './signPusher.js';

const T0 = Date.parse('2026-03-02T08:00:00+08:00') / 1000;
const index = new Map(['m1', 'm2', 'a1'].map((id, k) => [id, k]));
const point: DecisionPointConfig = {
  id: 'DP1',
  signId: 'D1',
  routes: [
    { id: 'main', nameZh: '人民路', nameEn: 'Renmin Rd', direction: 'ahead', links: ['m1', 'm2'] },
    { id: 'alt', nameZh: '北街', nameEn: 'North St', direction: 'left', links: ['a1'] },
  ],
};

let server: ControllerServer<VirtualSign>;
const sign = new VirtualSign(T0);
let now = T0;
let tt: Float64Array | undefined;
let pusher: SignPusher;

beforeAll(async () => {
  server = await ControllerServer.start([{ unitId: 100, controller: sign }]);
  const guide = new DiversionGuide([point], index, { onMarginS: 120, offMarginS: 30, minHoldS: 300 });
  const source = diversionSignSource(guide, index.size, () => tt);
  pusher = SignPusher.forSource(source, [{ signId: 'D1', unitId: 100, host: '127.0.0.1', port: server.port }], () => now, { periodMs: 3_600_000, client: { timeoutMs: 1000, retries: 1, backoffMs: 10 } });
});
afterAll(async () => {
  await pusher?.close();
  await server?.close();
});

describe('diversion signs over Modbus', () => {
  test('travel times, then 前方拥堵 请绕行, pushed only when the display changes', async () => {
    // No travel times yet: every line "—", the sign dark.
    await pusher.tick();
    expect(sign.shown()).toMatchObject({ state: SIGN_STATE_CODE.dark, lines: [{ kind: SIGN_LINE_KIND.unknown }, { kind: SIGN_LINE_KIND.unknown }] });
    tt = Float64Array.from([150, 150, 400]); // main 5 min, alternative 6.7 → 7 min
    now += 30;
    await pusher.tick();
    expect(sign.shown()).toMatchObject({
      state: SIGN_STATE_CODE.normal,
      lines: [
        { kind: SIGN_LINE_KIND.travelTime, freeSpaces: 5, direction: SIGN_DIRECTION_CODE.ahead },
        { kind: SIGN_LINE_KIND.travelTime, freeSpaces: 7, direction: SIGN_DIRECTION_CODE.left },
      ],
    });
    const commits = sign.commits;
    now += 1;
    await pusher.tick();
    expect(sign.commits).toBe(commits); // same display: no push
    // An incident: main route 12 min, alternative still 7 → divert.
    tt = Float64Array.from([360, 360, 400]);
    now += 30;
    await pusher.tick();
    expect(sign.shown()?.lines).toMatchObject([
      { kind: SIGN_LINE_KIND.congested, freeSpaces: 12 },
      { kind: SIGN_LINE_KIND.divert, freeSpaces: 7 },
    ]);
    // The gain falls within the hold: the sign keeps diverting, with the new minutes.
    tt = Float64Array.from([200, 200, 400]);
    now += 60;
    await pusher.tick();
    expect(sign.shown()?.lines).toMatchObject([
      { kind: SIGN_LINE_KIND.congested, freeSpaces: 7 },
      { kind: SIGN_LINE_KIND.divert, freeSpaces: 7 },
    ]);
    // After the hold, below the off margin: back to travel times.
    now += 300;
    await pusher.tick();
    expect(sign.shown()?.lines.map((l) => l.kind)).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
    expect(pusher.states()[0]).toMatchObject({ signId: 'D1', failures: 0 });
  });

  test('the block takes the diversion kinds with a number only', () => {
    const line = (kind: number, n: number) => encodeSignBlock({ messageId: 1, state: 0, lines: [{ kind, freeSpaces: n, direction: 1, partial: false }] });
    for (const kind of [SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.congested, SIGN_LINE_KIND.divert]) {
      expect(checkSignBlock(line(kind, 9))).toBeUndefined();
      expect(checkSignBlock(line(kind, Number.NaN))).toMatch(/free spaces 65535/);
    }
    expect(checkSignBlock(line(7, 9))).toMatch(/kind 7/);
  });
});
