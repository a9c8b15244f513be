/**
 * Event-log storage benchmark: what the service's event path (service/eventBatcher.ts:
 * bounded queue, one insertEvents transaction per batch, one audit row each) does with the
 * events of 2,000 field controllers logging about 20 events per second each (40,000 events/s;
 * ./generator.ts: phase edges and detector on/off with Indiana codes, timestamps on the real
 * clock), into SQLite (WAL, synchronous=FULL, as `greenwave serve --db` opens it).
 *
 *  1. Real time, BENCH_SECONDS (default 30): every 100 ms the events due are generated and
 *     handed to the batcher (what the collector does after each poll); reported: the lag
 *     from each event's timestamp to the commit of its batch (p50 / p99 / max), the rows
 *     stored per second of wall time and per second the storage was busy, drops.
 *  2. Capacity, the same 400,000 events in 20,000-row batches back to back: the storage's
 *     insertEvents, then a plain loop (better-sqlite3, the same table, indexes and pragmas,
 *     one prepared INSERT in one transaction per batch, nothing else) on a fresh file.
 * Both files get the storage's pragmas (WAL, synchronous=FULL, 64 MB cache).
 * Run: npm run bench:events (BENCH_CONTROLLERS, BENCH_EVENTS_PER_S, BENCH_SECONDS override).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStorage } from '../../service/storage/sqlite.js';
import { EventBatcher } from '../../service/eventBatcher.js';
import type { ControllerEvent, Storage } from '../../service/storage/storage.js';
import { EventGenerator } from './generator.js';

const CONTROLLERS = Number(process.env.BENCH_CONTROLLERS ?? 2000);
const EVENTS_PER_S = Number(process.env.BENCH_EVENTS_PER_S ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const TICK_MS = 100;
const CAPACITY_BATCHES = 20;
const BATCH_ROWS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The storage, with the time spent inside insertEvents added up. */
function timed(storage: Storage): { storage: Storage; busyMs: () => number } {
  let busy = 0;
  const wrapped = new Proxy(storage, {
    get(target, prop) {
      if (prop === 'insertEvents') {
        return async (actor: Parameters<Storage['insertEvents']>[0], events: readonly ControllerEvent[], progress?: Parameters<Storage['insertEvents']>[2]) => {
          const t0 = performance.now();
          try {
            return await target.insertEvents(actor, events, progress);
          } finally {
            busy += performance.now() - t0;
          }
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { storage: wrapped, busyMs: () => busy };
}

async function realTime(dir: string): Promise<void> {
  const base = await SqliteStorage.open({ path: join(dir, 'realtime.db') });
  const { storage, busyMs } = timed(base);
  const expected = Math.ceil(CONTROLLERS * EVENTS_PER_S * (SECONDS + 2) * 1.2);
  const lags = new Float64Array(expected);
  let n = 0;
  let lagMax = 0;
  const batcher = new EventBatcher(storage, {
    onCommitted: (batch, atMs) => {
      for (const e of batch) {
        const lag = atMs - e.timestampMs;
        if (n < lags.length) lags[n++] = lag;
        if (lag > lagMax) lagMax = lag;
      }
    },
  });
  const gen = new EventGenerator(CONTROLLERS, EVENTS_PER_S, Date.now());
  const buf: ControllerEvent[] = [];
  let generated = 0;
  let maxQueued = 0;
  let genMs = 0;
  const t0 = performance.now();
  const tick = setInterval(() => {
    buf.length = 0;
    const g0 = performance.now();
    gen.emitUntil(Date.now(), buf);
    genMs += performance.now() - g0;
    generated += buf.length;
    batcher.push(buf);
    maxQueued = Math.max(maxQueued, batcher.queued);
  }, TICK_MS);
  await sleep(SECONDS * 1000);
  clearInterval(tick);
  await batcher.close();
  const wallS = (performance.now() - t0) / 1000;
  const sorted = lags.slice(0, n).sort();
  const t = batcher.totals;
  console.log(`real time: ${CONTROLLERS} controllers × ${EVENTS_PER_S} events/s for ${SECONDS} s into SQLite (WAL, synchronous=FULL), through EventBatcher`);
  console.log(`  generated ${generated} events (${Math.round(generated / SECONDS)}/s), stored ${t.stored} in ${t.batches} transactions (mean ${Math.round(t.stored / Math.max(1, t.batches))} rows), dropped ${t.dropped}, largest queue ${maxQueued}`);
  console.log(`  lag event timestamp → commit: p50 ${quantile(sorted, 0.5).toFixed(0)} ms, p99 ${quantile(sorted, 0.99).toFixed(0)} ms, max ${lagMax.toFixed(0)} ms`);
  console.log(`  storage: ${Math.round(t.stored / wallS)} rows/s of wall time; busy ${(busyMs() / 1000).toFixed(1)} s of ${wallS.toFixed(1)} s (${Math.round(t.stored / (busyMs() / 1000))} rows/s while busy; the generator, on the same thread, took ${(genMs / 1000).toFixed(1)} s of it or around it)`);
  await base.close();
}

/** The capacity run's events: 400,000 generated over simulated time. */
function capacityEvents(): ControllerEvent[][] {
  const gen = new EventGenerator(CONTROLLERS, EVENTS_PER_S, 0, 2);
  const all: ControllerEvent[] = [];
  for (let t = 0; all.length < CAPACITY_BATCHES * BATCH_ROWS; t += TICK_MS) gen.emitUntil(t, all);
  const batches: ControllerEvent[][] = [];
  for (let k = 0; k < CAPACITY_BATCHES; k++) batches.push(all.slice(k * BATCH_ROWS, (k + 1) * BATCH_ROWS));
  return batches;
}

async function capacityStorage(dir: string, batches: ControllerEvent[][]): Promise<number> {
  const s = await SqliteStorage.open({ path: join(dir, 'capacity-storage.db') });
  const t0 = performance.now();
  for (const b of batches) await s.insertEvents({ user: 'bench' }, b);
  const ms = performance.now() - t0;
  await s.close();
  return (CAPACITY_BATCHES * BATCH_ROWS) / (ms / 1000);
}

function capacityPlain(dir: string, batches: ControllerEvent[][]): number {
  const db = new Database(join(dir, 'capacity-plain.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  db.exec(`CREATE TABLE event_log (id INTEGER PRIMARY KEY AUTOINCREMENT, location_id TEXT NOT NULL, timestamp_ms BIGINT NOT NULL, event_code INTEGER NOT NULL, event_param INTEGER NOT NULL);
    CREATE INDEX event_log_time ON event_log (timestamp_ms);
    CREATE INDEX event_log_location_time ON event_log (location_id, timestamp_ms);`);
  const insert = db.prepare('INSERT INTO event_log (location_id, timestamp_ms, event_code, event_param) VALUES (?, ?, ?, ?)');
  const batch = db.transaction((rows: readonly ControllerEvent[]) => {
    for (const e of rows) insert.run(e.locationId, e.timestampMs, e.eventCode, e.eventParam);
  });
  const t0 = performance.now();
  for (const b of batches) batch(b);
  const ms = performance.now() - t0;
  db.close();
  return (CAPACITY_BATCHES * BATCH_ROWS) / (ms / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-events-'));
  try {
    await realTime(dir);
    const batches = capacityEvents();
    const storageRate = await capacityStorage(dir, batches);
    const plainRate = capacityPlain(dir, batches);
    console.log(`capacity: ${CAPACITY_BATCHES} batches of ${BATCH_ROWS} rows back to back`);
    console.log(`  Storage.insertEvents (validation, audit row per batch): ${Math.round(storageRate)} rows/s`);
    console.log(`  plain better-sqlite3 loop (prepared INSERT, one transaction per batch): ${Math.round(plainRate)} rows/s (storage at ${((100 * storageRate) / plainRate).toFixed(0)} %)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
