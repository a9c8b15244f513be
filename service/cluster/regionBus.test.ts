/**
 * A region's durable inbox on a real nats-server: a region picked up by another owner loses
 * no message, neither those published while it had no owner nor those its old owner received
 * without acknowledging.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { startNats, type NatsServers } from '../../test/fixtures/nats.js';
import { ensureRegionInbox, ensureRegionStream, REGION_STREAM, RegionInbox, regionSubject } from './regionBus.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

describe('region inboxes on nats-server', () => {
  let nats: NatsServers;
  let pub: NatsConnection;
  beforeAll(async () => {
    nats = await startNats(1);
    pub = await connect({ servers: [...nats.urls] });
    const jsm = await pub.jetstreamManager();
    await ensureRegionStream(jsm, { maxAgeMs: 600_000, maxBytes: 64 * 2 ** 20 });
    for (const r of ['r0000', 'r0001']) await ensureRegionInbox(jsm, r, { ackWaitMs: 1000 });
  });
  afterAll(async () => {
    await pub?.close();
    await nats?.stop();
  });

  it('a new owner gets what was published while the region had no owner and what the old one left unacknowledged', async () => {
    const js = pub.jetstream();
    const publish = async (region: string, k: number) => js.publish(regionSubject(region, 'detector', `S${k % 5}`), JSON.stringify({ k }));
    for (let k = 0; k < 50; k++) await publish('r0000', k);
    for (let k = 0; k < 10; k++) await publish('r0001', 1000 + k);

    // Owner A handles everything it gets but acknowledges only k < 30, then dies.
    const ncA = await connect({ servers: [...nats.urls] });
    const gotA: number[] = [];
    await RegionInbox.open(ncA, 'r0000', (m) => {
      const { k } = m.json<{ k: number }>();
      gotA.push(k);
      if (k < 30) m.ack();
    });
    await until('A received the first 50', () => gotA.length >= 50, 5000);
    await ncA.flush();
    await ncA.close();

    // Published while no one owns the region.
    for (let k = 50; k < 90; k++) await publish('r0000', k);

    // Owner B binds to the same durable inbox.
    const ncB = await connect({ servers: [...nats.urls] });
    const gotB: number[] = [];
    const seqB: number[] = [];
    const inboxB = await RegionInbox.open(ncB, 'r0000', (m) => {
      gotB.push(m.json<{ k: number }>().k);
      seqB.push(m.seq);
      m.ack();
    });
    const expected = Array.from({ length: 60 }, (_, i) => 30 + i);
    await until('B received 30..89', () => expected.every((k) => gotB.includes(k)), 8000);
    await sleep(300);
    await inboxB.stop();
    await ncB.close();

    expect([...new Set(gotA)].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Nothing A acknowledged came again, nothing of the other region came at all, nothing twice.
    expect([...gotB].sort((a, b) => a - b)).toEqual(expected);
    expect(new Set(seqB).size).toBe(seqB.length);
  });

  it('keeps its limits as set, and a publisher retrying with one message id is stored once', async () => {
    const jsm = await pub.jetstreamManager();
    const info = await jsm.streams.info(REGION_STREAM);
    expect(info.config.max_age).toBe(600_000 * 1e6);
    expect(info.config.max_bytes).toBe(64 * 2 ** 20);
    expect(info.config.discard).toBe('old');
    const js = pub.jetstream();
    const first = await js.publish(regionSubject('r0001', 'priority', 'S1'), '{"bus":7}', { msgID: 'bus-7-request-1' });
    const again = await js.publish(regionSubject('r0001', 'priority', 'S1'), '{"bus":7}', { msgID: 'bus-7-request-1' });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    expect(() => regionSubject('r 1', 'plan')).toThrow(/regionId/);
  });
});
