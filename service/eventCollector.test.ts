/**
 * EventCollector end to end on real parts: virtual controllers serving their event FIFO on
 * a Modbus TCP socket, on an accelerated clock, with vehicles fed to their detectors; a real
 * SQLite file; one configured controller that does not exist. Checks, per controller, that
 * every sequence the controller numbered is either stored (exactly the controller's record,
 * once, in order) or reported lost in the audit log — and that the dead controller held up
 * none of the others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import type { ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import { VirtualController } from '../controllers-adapter/virtual/controller.js';
import { demoNetwork, demoPlan } from '../test/fixtures/controllers/demo.js';
import { SqliteStorage } from './storage/sqlite.js';
import { EventCollector } from './eventCollector.js';
import { ServiceMetrics } from './metrics.js';

const c = demoNetwork();
const plan = demoPlan();
const dir = mkdtempSync(join(tmpdir(), 'gw-events-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('EventCollector', () => {
  test('every sequence stored once or audited as lost; a dead controller stalls nobody', async () => {
    const startS = Date.UTC(2026, 2, 1, 8) / 1000;
    const t0 = Date.now();
    let frozen: number | undefined;
    // 20× real time, so that a second of test is many signal events.
    const clock = () => frozen ?? startS + ((Date.now() - t0) / 1000) * 20;
    const vs = [0, 1, 2].map((i) => new VirtualController(c, i, plan, { startS, commLossTimeoutS: 0 }));
    // Controller 3 (unit 3) holds only 40 records and is fed hard: the collector must fall behind it.
    const fifos = vs.map((v, i) => v.serveEventLog({ capacity: i === 2 ? 40 : 100_000 }));
    const server = await ControllerServer.start(
      vs.map((v, i) => ({ unitId: i + 1, controller: v })),
      { clock },
    );
    const feed = setInterval(() => {
      const now = clock();
      vs.forEach((v, i) => {
        v.tick(now);
        for (let k = 0; k < (i === 2 ? 12 : 1); k++) v.addDetectorCounts(k % v.detectorCount, 1);
      });
    }, 20);
    const storage = await SqliteStorage.open({ path: join(dir, 'events.db') });
    const metrics = new ServiceMetrics();
    // Unit 4 points at a port nobody listens on.
    const endpoints: ControllerEndpoint[] = [...vs.map((_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port: server.port })), { unitId: 4, intersection: 3, host: '127.0.0.1', port: 1 }];
    const lines: string[] = [];
    const collector = new EventCollector(c, endpoints, storage, { periodMs: 250, timeoutMs: 300, log: (l) => lines.push(l), metrics }).start();
    try {
      await sleep(2500);
      clearInterval(feed);
      frozen = clock();
      for (const v of vs) v.tick(frozen);
      // Let the collector read what is left (nothing new is logged now), then stop it.
      for (let k = 0; k < 40 && !(collector.backlog() === 0 && collector.batcher.queued === 0); k++) await sleep(100);
      await sleep(600);
    } finally {
      clearInterval(feed);
      await collector.close();
      await server.close();
    }
    const status = collector.status();
    expect(status[3]!.failures).toBeGreaterThan(0);
    const audit = await storage.listAudit({ limit: 10_000 });
    const gapRows = audit.filter((r) => r.action === 'events.gap').map((r) => JSON.parse(r.detail) as { lost: number; gaps: { locationId: string; fromSeq: number; toSeq: number }[] });
    let storedTotal = 0;
    for (let i = 0; i < 3; i++) {
      const id = c.intersectionIds[i]!;
      const stored = await storage.events({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, locationId: id });
      storedTotal += stored.length;
      const gaps = gapRows.flatMap((r) => r.gaps).filter((g) => g.locationId === id);
      const lost = gaps.reduce((n, g) => n + g.toSeq - g.fromSeq, 0);
      // Every sequence numbered since collection began: stored or reported lost, none twice.
      expect(stored.length + lost).toBe(status[i]!.cursor! - status[i]!.firstSeq!);
      // …and collection caught up: the cursor is at the controller's next sequence.
      expect(status[i]!.cursor).toBe(fifos[i]!.nextSeq);
      if (i < 2) {
        expect(lost).toBe(0);
        expect(status[i]!.firstSeq).toBe(0);
        expect(stored.length).toBeGreaterThan(50);
        // Stored exactly as the controller recorded them, in sequence order (no overwrite in these FIFOs).
        for (let s = 0; s < stored.length; s++) expect(stored[s]).toEqual({ locationId: id, ...fifos[i]!.recordAt(s)! });
      } else {
        expect(lost).toBeGreaterThan(0);
        // What was kept is the tail end of each stretch the controller still held: check the last ones.
        const tail = stored.slice(-20);
        for (let s = 0; s < tail.length; s++) expect(tail[s]).toEqual({ locationId: id, ...fifos[i]!.recordAt(fifos[i]!.nextSeq - tail.length + s)! });
      }
    }
    const text = await metrics.registry.metrics();
    expect(text).toContain(`greenwave_events_stored_total ${storedTotal}`);
    expect(text).toContain(`greenwave_event_gaps_events_total ${gapRows.reduce((n, r) => n + r.lost, 0)}`);
    expect(lines.some((l) => l.includes('cannot collect events from unit 4'))).toBe(true);
    expect(lines.some((l) => /overwritten on the controller before they were collected/.test(l))).toBe(true);
    await storage.close();
  });
});
