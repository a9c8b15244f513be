/**
 * Parking guidance signs over Modbus TCP, on real sockets: the virtual sign's
 * register block (commit, CRC, torn and malformed blocks refused with nothing
 * shown changing, atomic FC16, the communication-loss blank), SignClient's
 * push and read-back with message ids that continue across clients, and a
 * sign that never answers failing by its timeout while a sign at another
 * address is pushed at once.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { ControllerServer } from './server.js';
import { SignClient } from './signClient.js';
import { VirtualSign } from '../virtual/sign.js';
import { ControllerErrorReason } from '../errors.js';
import { crc16ModbusRegisters } from '../codec.js';
import { HR_SIGN_COMMIT, HR_SIGN_CRC, HR_SIGN_TIMEOUT_S, SB_LINES, SB_MESSAGE_ID_TAIL, SIGN_BLOCK_LENGTH, SIGN_LINE_KIND, SIGN_NO_NUMBER, SignStatus, encodeSignBlock, signCommitWrite, SL_FREE } from '../signBlock.js';
import { reason } from '../../test/fixtures/controllers/rejection.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const MESSAGE = {
  state: 0,
  lines: [
    { kind: SIGN_LINE_KIND.spaces, freeSpaces: 123, direction: 1, partial: false },
    { kind: SIGN_LINE_KIND.full, freeSpaces: 1, direction: 2, partial: true },
    { kind: SIGN_LINE_KIND.unknown, freeSpaces: Number.NaN, direction: 0, partial: false },
  ],
};

async function signs(unitIds: number[], clock?: { now: number }) {
  const units = unitIds.map((unitId) => ({ unitId, controller: new VirtualSign(clock?.now ?? 0) }));
  const server = await ControllerServer.start(units, clock ? { clock: () => clock.now } : {});
  cleanups.push(() => server.close());
  return { server, units };
}

function client(...args: ConstructorParameters<typeof SignClient>): SignClient {
  const cl = new SignClient(args[0], { timeoutMs: 300, connectTimeoutMs: 300, retries: 1, backoffMs: 10, ...args[1] });
  cleanups.push(() => cl.close());
  return cl;
}

describe('guidance signs over Modbus TCP', () => {
  test('push → commit → shown, read back; ids continue from what the sign last committed', async () => {
    const { server, units } = await signs([100, 101]);
    const cl = client([
      { signId: 'S1', unitId: 100, host: '127.0.0.1', port: server.port },
      { signId: 'S2', unitId: 101, host: '127.0.0.1', port: server.port },
    ]);
    const r = await cl.push('S1', MESSAGE, 120);
    expect(r).toEqual({ signId: 'S1', messageId: 1, attempts: 1 });
    expect(units[0]!.controller.shown()).toEqual({ ...MESSAGE, messageId: 1, blanked: false });
    expect(units[1]!.controller.shown()).toBeUndefined();
    expect(units[0]!.controller.readHolding(HR_SIGN_TIMEOUT_S, 1)).toEqual([120]);
    const back = await cl.readShown('S1');
    expect(back.status).toBe(SignStatus.Shown);
    expect(back.message?.lines.map((l) => l.freeSpaces)).toEqual([123, 1, Number.NaN]);
    // A second client (a restarted service) goes on from the sign's last id, not from 1.
    const again = client([{ signId: 'S1', unitId: 100, host: '127.0.0.1', port: server.port }]);
    expect((await again.push('S1', { state: 2, lines: [{ kind: SIGN_LINE_KIND.unknown, freeSpaces: Number.NaN, direction: 1, partial: false }] })).messageId).toBe(2);
    expect(units[0]!.controller.shown()?.lines).toHaveLength(1);
    expect(units[0]!.controller.commits).toBe(2);
  });

  test('the sign refuses a bad CRC, a torn or malformed block, and keeps what it shows', async () => {
    const sign = new VirtualSign(0);
    const good = encodeSignBlock({ ...MESSAGE, messageId: 7 });
    sign.writeHolding(0, signCommitWrite(good));
    expect(sign.status).toBe(SignStatus.Shown);
    const bad = encodeSignBlock({ ...MESSAGE, messageId: 8 });
    const w = signCommitWrite(bad);
    w[HR_SIGN_CRC] = w[HR_SIGN_CRC]! ^ 1;
    sign.writeHolding(0, w);
    expect([sign.status, sign.shown()?.messageId]).toEqual([SignStatus.CrcMismatch, 7]);
    const torn = Uint16Array.from(bad);
    torn[SB_MESSAGE_ID_TAIL] = 9;
    sign.writeHolding(0, signCommitWrite(torn));
    expect([sign.status, sign.lastRefusal]).toEqual([SignStatus.Malformed, 'torn block: message id 8 at the head, 9 at the tail']);
    const numberOnUnknown = Uint16Array.from(bad);
    numberOnUnknown[SB_LINES + 2 * 4 + SL_FREE] = 5;
    sign.writeHolding(0, signCommitWrite(numberOnUnknown));
    expect(sign.lastRefusal).toBe('line 2: free spaces 5 with kind 2');
    const noNumber = Uint16Array.from(bad);
    noNumber[SB_LINES + SL_FREE] = SIGN_NO_NUMBER;
    sign.writeHolding(0, signCommitWrite(noNumber));
    expect(sign.lastRefusal).toBe(`line 0: free spaces ${SIGN_NO_NUMBER} with kind 0`);
    expect(sign.shown()?.messageId).toBe(7);
    // A write past the writable range or a bad commit value changes nothing at all (atomic FC16).
    expect(() => sign.writeHolding(30, new Array(10).fill(0))).toThrow(/writable are 0\.\.38/);
    expect(() => sign.writeHolding(0, [...signCommitWrite(bad).slice(0, HR_SIGN_COMMIT), 2])).toThrow(/only 1 commits/);
    expect(sign.readHolding(0, 1)).toEqual([8]);
    expect(crc16ModbusRegisters(sign.readHolding(40, SIGN_BLOCK_LENGTH))).toBe(crc16ModbusRegisters(good));
  });

  test('no request from central for the timeout: every line "—" until the next commit', async () => {
    const clock = { now: 1000 };
    const { server, units } = await signs([5], clock);
    const cl = client([{ signId: 'S', unitId: 5, host: '127.0.0.1', port: server.port }]);
    await cl.push('S', MESSAGE, 30);
    clock.now += 29;
    units[0]!.controller.tick(clock.now);
    expect(units[0]!.controller.shown()?.blanked).toBe(false);
    clock.now += 2;
    units[0]!.controller.tick(clock.now);
    expect(units[0]!.controller.shown()?.blanked).toBe(true);
    expect((await cl.readShown('S')).status).toBe(SignStatus.Blanked);
    await cl.push('S', MESSAGE, 30);
    expect(units[0]!.controller.shown()?.blanked).toBe(false);
  });

  test('a sign that never answers fails by its timeout; a sign at another address is pushed meanwhile', async () => {
    const { server, units } = await signs([100]);
    const sockets: Socket[] = [];
    const hole: Server = createServer((s) => {
      sockets.push(s);
      s.on('data', () => {});
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      hole.close(() => resolve());
    }));
    const port = (hole.address() as { port: number }).port;
    const cl = client([
      { signId: 'DEAD', unitId: 1, host: '127.0.0.1', port },
      { signId: 'S1', unitId: 100, host: '127.0.0.1', port: server.port },
    ]);
    const t0 = Date.now();
    const dead = reason(cl.push('DEAD', MESSAGE));
    await cl.push('S1', MESSAGE);
    const liveMs = Date.now() - t0;
    expect(liveMs).toBeLessThan(250);
    expect(units[0]!.controller.shown()?.messageId).toBe(1);
    expect((await dead).reason).toBe(ControllerErrorReason.Timeout);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600); // two attempts of 300 ms
  });

  test('unknown signs, duplicate unit ids at one address and a bad timeout are refused up front', async () => {
    const cl = client([{ signId: 'S', unitId: 1, host: '127.0.0.1', port: 1 }]);
    expect(() => cl.breaker('T')).toThrow(/sign "T" is not configured/);
    expect(() => new SignClient([
      { signId: 'A', unitId: 3, host: 'h', port: 502 },
      { signId: 'B', unitId: 3, host: 'h', port: 502 },
    ])).toThrow(/unit 3 at h:502 is also sign "A"'s/);
    await expect(cl.push('S', MESSAGE, 5000)).rejects.toThrow(/commLossTimeoutS/);
  });
});
