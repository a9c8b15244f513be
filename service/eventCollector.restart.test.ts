/**
 * EventCollector across a restart of the service, on real parts: virtual controllers serving
 * their event FIFO on Modbus TCP sockets (accelerated clock, detectors fed), one SQLite file.
 * The first collector "dies" mid-run: from one instant its storage commits nothing more (as
 * after a kill -9, the events it still holds in memory never reach the database) and it
 * stops. While the service is down the controllers keep logging; one overwrites records
 * nobody read; one restarts (a new log id). A second collector on the same database must
 * resume each controller at the cursor stored with the last committed events: every
 * sequence each controller numbered is stored exactly once, in order, or audited as lost (a
 * gap, or the unread tail of a log that restarted) — none twice (before the cursors were kept, the second collector began again at the oldest
 * record held and stored everything a second time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import type { ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import { VirtualController } from '../controllers-adapter/virtual/controller.js';
import type { EventFifo } from '../controllers-adapter/virtual/eventFifo.js';
import { demoNetwork, demoPlan } from '../test/fixtures/controllers/demo.js';
import { SqliteStorage } from './storage/sqlite.js';
import type { Storage } from './storage/storage.js';
import { EventCollector } from './eventCollector.js';

const c = demoNetwork();
const plan = demoPlan();
const dir = mkdtempSync(join(tmpdir(), 'gw-events-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The storage, until `kill()`: from then on no write commits (reads still work, as for the next process). */
function mortal(storage: Storage): { storage: Storage; kill: () => void } {
  let dead = false;
  const wrapped = new Proxy(storage, {
    get(target, prop) {
      if (dead && (prop === 'insertEvents' || prop === 'recordAudit')) return () => Promise.reject(new Error('the process was killed'));
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { storage: wrapped, kill: () => (dead = true) };
}

describe('EventCollector restart', () => {
  test('a restarted service resumes every controller at its stored cursor: nothing stored twice, nothing lost unaudited', async () => {
    const startS = Date.UTC(2026, 2, 1, 8) / 1000;
    const t0 = Date.now();
    let frozen: number | undefined;
    const clock = () => frozen ?? startS + ((Date.now() - t0) / 1000) * 20;
    const ids = [0, 1, 2].map((i) => c.intersectionIds[i]!);
    // Unit 1 holds everything; unit 2 holds 500 records and is fed hard (the downtime overwrites
    // some); unit 3 restarts while the service is down (log 103 → 203).
    const vs = [0, 1, 2].map((i) => new VirtualController(c, i, plan, { startS, commLossTimeoutS: 0 }));
    const fifos: EventFifo[] = vs.map((v, i) => v.serveEventLog({ capacity: i === 1 ? 500 : 100_000, logId: 101 + i }));
    const server = await ControllerServer.start(
      vs.map((v, i) => ({ unitId: i + 1, controller: v })),
      { clock },
    );
    let live = [...vs];
    const feed = setInterval(() => {
      const now = clock();
      live.forEach((v, i) => {
        v.tick(now);
        for (let k = 0; k < (i === 1 ? 12 : 1); k++) v.addDetectorCounts(k % v.detectorCount, 1);
      });
    }, 20);
    const db = join(dir, 'events.db');
    const base = await SqliteStorage.open({ path: db });
    const endpoints: ControllerEndpoint[] = vs.map((_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port: server.port }));
    const lines: string[] = [];
    let server2: ControllerServer | undefined;
    let fresh: EventFifo | undefined;
    let storedAtCrash: Awaited<ReturnType<Storage['eventCursors']>> = [];
    let second: EventCollector | undefined;
    try {
      // Run 1, then the crash: the collector keeps reading for a while, but nothing commits.
      const { storage: doomed, kill } = mortal(base);
      const first = new EventCollector(c, endpoints, doomed, { periodMs: 250, timeoutMs: 300, log: (l) => lines.push(l) }).start();
      await sleep(800);
      kill();
      await sleep(300);
      await first.close();
      // What the dead process held and never committed: read again below, not lost.
      expect(first.batcher.queued).toBeGreaterThan(0);
      storedAtCrash = await base.eventCursors();
      expect(storedAtCrash.map((s) => s.controllerId).sort()).toEqual([...ids].sort());

      // Down for a while: unit 3 restarts (the old log ends where it was), the others log on.
      await sleep(300);
      live = [vs[0]!, vs[1]!, new VirtualController(c, 2, plan, { startS: clock(), commLossTimeoutS: 0 })];
      fresh = live[2]!.serveEventLog({ capacity: 100_000, logId: 203 });
      server2 = await ControllerServer.start([{ unitId: 3, controller: live[2]! }], { clock });
      await sleep(300);

      // Run 2 on the same database, then let it catch up with frozen controllers.
      const endpoints2 = [endpoints[0]!, endpoints[1]!, { ...endpoints[2]!, port: server2.port }];
      second = new EventCollector(c, endpoints2, base, { periodMs: 250, timeoutMs: 300, log: (l) => lines.push(l) }).start();
      await sleep(800);
      clearInterval(feed);
      frozen = clock();
      for (const v of live) v.tick(frozen);
      for (let k = 0; k < 40 && !(second.backlog() === 0 && second.batcher.queued === 0 && second.batcher.pendingMarks === 0); k++) await sleep(100);
      await sleep(400);
    } finally {
      clearInterval(feed);
      await second?.close();
      await server.close();
      await server2?.close();
    }
    const status = second!.status();
    const audit = await base.listAudit({ limit: 10_000 });
    const gaps = audit.filter((r) => r.action === 'events.gap').flatMap((r) => (JSON.parse(r.detail) as { gaps: { locationId: string; fromSeq: number; toSeq: number }[] }).gaps);
    const stored = await Promise.all(ids.map((id) => base.events({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, locationId: id })));
    const cursorAtCrash = (id: string) => storedAtCrash.find((s) => s.controllerId === id)!;

    // Unit 1: its whole log, each record once, in sequence order; the second run began at the stored cursor.
    expect(status[0]!.firstSeq).toBe(cursorAtCrash(ids[0]!).nextSeq);
    expect(status[0]!.cursor).toBe(fifos[0]!.nextSeq);
    expect(stored[0]!.length).toBe(fifos[0]!.nextSeq);
    for (let s = 0; s < stored[0]!.length; s++) expect(stored[0]![s]).toEqual({ locationId: ids[0], ...fifos[0]!.recordAt(s)! });

    // Unit 2: every sequence it numbered is stored or in an events.gap row, none twice; the downtime overwrote some.
    const lost1 = gaps.filter((g) => g.locationId === ids[1]).reduce((n, g) => n + g.toSeq - g.fromSeq, 0);
    expect(lost1).toBeGreaterThan(0);
    expect(status[1]!.cursor).toBe(fifos[1]!.nextSeq);
    expect(stored[1]!.length + lost1).toBe(fifos[1]!.nextSeq);
    const tail = stored[1]!.slice(-50);
    for (let s = 0; s < tail.length; s++) expect(tail[s]).toEqual({ locationId: ids[1], ...fifos[1]!.recordAt(fifos[1]!.nextSeq - tail.length + s)! });

    // Unit 3: the old log up to the cursor stored at the crash (the rest died with the controller,
    // which the service says in its log and the audit log), then the new log from its first record.
    const upTo = cursorAtCrash(ids[2]!).nextSeq;
    expect(cursorAtCrash(ids[2]!).logId).toBe(103);
    expect(stored[2]!.length).toBe(upTo + fresh!.nextSeq);
    expect(fresh!.nextSeq).toBeGreaterThan(0);
    for (let s = 0; s < upTo; s++) expect(stored[2]![s]).toEqual({ locationId: ids[2], ...fifos[2]!.recordAt(s)! });
    for (let s = 0; s < fresh!.nextSeq; s++) expect(stored[2]![upTo + s]).toEqual({ locationId: ids[2], ...fresh!.recordAt(s)! });
    expect(lines.some((l) => l.includes(`event log of unit 3 (${ids[2]}) started again`))).toBe(true);
    // …and on record, in the audit log, where the old log was left.
    const restarts = audit.filter((r) => r.action === 'events.restart').flatMap((r) => (JSON.parse(r.detail) as { restarts: unknown[] }).restarts);
    expect(restarts).toEqual([{ controllerId: ids[2], previousLogId: 103, previousNextSeq: upTo, logId: 203, oldestSeq: 0 }]);

    // The cursors stored last are where the controllers' logs end now.
    expect((await base.eventCursors()).map(({ controllerId, logId, nextSeq }) => ({ controllerId, logId, nextSeq }))).toEqual(
      [
        { controllerId: ids[0]!, logId: 101, nextSeq: fifos[0]!.nextSeq },
        { controllerId: ids[1]!, logId: 102, nextSeq: fifos[1]!.nextSeq },
        { controllerId: ids[2]!, logId: 203, nextSeq: fresh!.nextSeq },
      ].sort((a, b) => (a.controllerId < b.controllerId ? -1 : 1)),
    );
    expect((await base.verifyAudit()).ok).toBe(true);
    await base.close();
  });
});
