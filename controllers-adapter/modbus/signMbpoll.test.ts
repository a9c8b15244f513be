/**
 * The guidance sign block read and written by an independent Modbus master
 * (mbpoll, libmodbus), from docs/modbus-register-map.md alone: it reads the
 * message greenwave's SignClient committed, and commits one of its own (block,
 * CRC and commit in one FC16) that the sign then shows. A missing mbpoll FAILS
 * this test on purpose (interop tier).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runTool } from '../../test/fixtures/controllers/peerTools.js';
import { requireTool } from '../../test/fixtures/controllers/ptyPair.js';
import { ControllerServer } from './server.js';
import { SignClient } from './signClient.js';
import { VirtualSign } from '../virtual/sign.js';
import { HR_SIGN_SHOWN, SIGN_BLOCK_LENGTH, SIGN_LINE_KIND, SignStatus, encodeSignBlock, signCommitWrite } from '../signBlock.js';

describe('guidance sign block with mbpoll', () => {
  const sign = new VirtualSign(0);
  let server: ControllerServer<VirtualSign>;
  beforeAll(async () => {
    server = await ControllerServer.start([{ unitId: 100, controller: sign }]);
  });
  afterAll(async () => {
    await server?.close();
  });

  test('mbpoll reads what greenwave committed and commits a message of its own', async () => {
    const mbpoll = requireTool('mbpoll');
    const cl = new SignClient([{ signId: 'S1', unitId: 100, host: '127.0.0.1', port: server.port }]);
    await cl.push('S1', { state: 0, lines: [{ kind: SIGN_LINE_KIND.spaces, freeSpaces: 321, direction: 1, partial: false }, { kind: SIGN_LINE_KIND.full, freeSpaces: 0, direction: 2, partial: false }] });
    await cl.close();
    const common = ['-m', 'tcp', '-a', '100', '-0', '-t', '4', '-1', '-o', '2', '-p', String(server.port)];
    const read = await runTool(mbpoll, [...common, '-r', String(HR_SIGN_SHOWN), '-c', String(SIGN_BLOCK_LENGTH), '127.0.0.1']);
    const v = new Map([...read.stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));
    // Shown block at 40: id 1, state normal, 2 lines; line 0 at 43 (kind, free, direction, flags), line 1 at 47.
    expect([40, 41, 42, 43, 44, 45, 47, 48, 49, 75].map((a) => v.get(a))).toEqual([1, 0, 2, 0, 321, 1, 1, 0, 2, 1]);

    const mine = signCommitWrite(encodeSignBlock({ messageId: 500, state: 1, lines: [{ kind: SIGN_LINE_KIND.closed, freeSpaces: Number.NaN, direction: 0, partial: false }] }));
    const write = await runTool(mbpoll, [...common, '-r', '0', '127.0.0.1', ...mine.map(String)]);
    expect(write.code).toBe(0);
    expect([sign.status, sign.shown()?.messageId, sign.shown()?.lines]).toEqual([SignStatus.Shown, 500, [{ kind: SIGN_LINE_KIND.closed, freeSpaces: Number.NaN, direction: 0, partial: false }]]);
  });
});
