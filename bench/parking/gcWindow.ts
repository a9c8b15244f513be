/**
 * What the garbage collector did in a stretch of a process's life: bytes
 * allocated on the JS heap, collections by kind and their pauses. Used by
 * bench/parking/recommend.ts in the server children (per load run, and over
 * the in-process Recommend path) and in the load generator, so a run reports
 * load-independent figures (bytes a call, collections and the longest pause
 * per 10,000 calls) beside the latencies, which follow the shared machine.
 *
 * Built on v8.GCProfiler: every collection's heap size before and after it.
 * Bytes allocated = what the heap grew by between collections (before one
 * minus after the previous) plus the growth since the last. Survived = the
 * young generation left after each scavenge (what it copied: a scavenge's
 * cost), promoted = what the old generation grew by in scavenges (what the
 * next mark-compact has to mark or free). Pauses are the
 * profiler's `cost` of each collection (the time on the JS thread: a
 * scavenge, or the final atomic pause of a mark-compact; concurrent marking
 * and sweeping on helper threads are not in it).
 */
import { GCProfiler, getHeapStatistics, type HeapSpaceStatistics } from 'node:v8';

export interface GcFigures {
  readonly allocatedBytes: number;
  /** Sums over the window's scavenges: bytes left in the young generation, and bytes moved to the old one. */
  readonly survivedBytes: number;
  readonly promotedBytes: number;
  readonly scavenges: number;
  readonly markCompacts: number;
  /** Other kinds (incremental marking steps, weak callbacks). */
  readonly others: number;
  readonly pauseMs: number;
  readonly maxPauseMs: number;
  readonly maxMarkCompactMs: number;
  /** Heap in use after the last mark-compact of the window (0 if none): the live data, MB. */
  readonly liveMb: number;
}

export class GcWindow {
  private profiler = new GCProfiler();
  private usedAtStart = 0;

  constructor() {
    this.restart();
  }

  /** Ends the window, returns its figures, and starts the next one. */
  take(): GcFigures {
    const result = this.profiler.stop();
    const usedNow = getHeapStatistics().used_heap_size;
    let allocated = 0;
    let after = this.usedAtStart;
    let scavenges = 0;
    let markCompacts = 0;
    let others = 0;
    let pauseMs = 0;
    let maxPauseMs = 0;
    let maxMarkCompactMs = 0;
    let liveMb = 0;
    let survived = 0;
    let promoted = 0;
    for (const s of result?.statistics ?? []) {
      allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - after);
      after = s.afterGC.heapStatistics.usedHeapSize;
      const ms = s.cost / 1000;
      pauseMs += ms;
      maxPauseMs = Math.max(maxPauseMs, ms);
      if (s.gcType === 'Scavenge') {
        scavenges++;
        survived += spaceUsed(s.afterGC.heapSpaceStatistics, 'new_space');
        promoted += Math.max(0, spaceUsed(s.afterGC.heapSpaceStatistics, 'old_space') - spaceUsed(s.beforeGC.heapSpaceStatistics, 'old_space'));
      } else if (s.gcType === 'MarkSweepCompact') {
        markCompacts++;
        maxMarkCompactMs = Math.max(maxMarkCompactMs, ms);
        liveMb = after / 2 ** 20;
      } else others++;
    }
    allocated += Math.max(0, usedNow - after);
    this.restart();
    return { allocatedBytes: allocated, survivedBytes: survived, promotedBytes: promoted, scavenges, markCompacts, others, pauseMs, maxPauseMs, maxMarkCompactMs, liveMb };
  }

  private restart(): void {
    this.profiler = new GCProfiler();
    this.usedAtStart = getHeapStatistics().used_heap_size;
    this.profiler.start();
  }
}

function spaceUsed(spaces: readonly HeapSpaceStatistics[], name: string): number {
  for (const s of spaces) if (s.spaceName === name) return s.spaceUsedSize;
  return 0;
}

/** The figures per call (bytes) and per 10,000 calls (collections, pause), for a table row. */
export function perCalls(g: GcFigures, calls: number): string {
  const per10k = 10_000 / Math.max(1, calls);
  return `${(g.allocatedBytes / Math.max(1, calls) / 1024).toFixed(1)} KiB/call, ${(g.survivedBytes / Math.max(1, g.scavenges) / 1024).toFixed(0)} KiB surviving a scavenge, ${(g.promotedBytes / Math.max(1, calls)).toFixed(0)} B/call promoted; per 10k calls ${(g.scavenges * per10k).toFixed(0)} scavenges, ${(g.markCompacts * per10k).toFixed(1)} mark-compacts, pause ${(g.pauseMs * per10k).toFixed(0)} ms; max pause ${g.maxPauseMs.toFixed(1)} ms (mark-compact ${g.maxMarkCompactMs.toFixed(1)} ms)`;
}

/** The figures for a table cell: KiB allocated a call, KiB surviving a scavenge, B promoted a call; per 10,000 calls scavenges, mark-compacts, pause ms; the longest pause (of a mark-compact); the live heap, MB. */
export function gcCells(g: GcFigures, calls: number): string {
  const per10k = 10_000 / Math.max(1, calls);
  return `${(g.allocatedBytes / Math.max(1, calls) / 1024).toFixed(1)}, ${(g.survivedBytes / Math.max(1, g.scavenges) / 1024).toFixed(0)}, ${(g.promotedBytes / Math.max(1, calls)).toFixed(0)}; ${(g.scavenges * per10k).toFixed(0)}, ${(g.markCompacts * per10k).toFixed(1)}, ${(g.pauseMs * per10k).toFixed(0)}; ${g.maxPauseMs.toFixed(1)} (${g.maxMarkCompactMs.toFixed(1)}); ${g.liveMb > 0 ? g.liveMb.toFixed(0) : '–'}`;
}
